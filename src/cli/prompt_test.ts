import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { InterruptedError, UsageError } from "./errors.ts";
import { promptPassword, type Terminal } from "./prompt.ts";

/** A terminal that types `keys` and records what was shown and when echo was off. */
function fakeTerminal(keys: string): Terminal & { shown: string; rawWhenShown: boolean[] } {
  let raw = false;
  const input = new TextEncoder().encode(keys);
  let at = 0;
  const t = {
    shown: "",
    rawWhenShown: [] as boolean[],
    isTerminal: () => true,
    setRaw: (r: boolean) => void (raw = r),
    read: (buf: Uint8Array) => {
      if (at >= input.length) return Promise.resolve(null);
      buf[0] = input[at++]; // one key at a time, as typed
      return Promise.resolve(1);
    },
    write: (text: string) => {
      t.shown += text;
      if (text.endsWith(": ")) t.rawWhenShown.push(raw);
    },
  };
  return t;
}

Deno.test("promptPassword() reads with echo off, erases with backspace, and confirms", async () => {
  const term = fakeTerminal("sec\x7fcret\rsecret\r");
  assertEquals(await promptPassword("New password", { confirm: true, term }), "secret");
  assertEquals(term.rawWhenShown, [true, true], "echo is off before each prompt shows");
  assertEquals(term.shown, "New password: \nNew password again: \n");
});

Deno.test("promptPassword() refuses a mismatch, an empty new password, Ctrl-C and a closed terminal", async () => {
  await assertRejects(
    () => promptPassword("P", { confirm: true, term: fakeTerminal("a\rb\r") }),
    UsageError,
    "do not match",
  );
  await assertRejects(
    () => promptPassword("P", { confirm: true, term: fakeTerminal("\r") }),
    UsageError,
    "empty",
  );
  await assertRejects(
    () => promptPassword("P", { term: fakeTerminal("ab\x03") }),
    InterruptedError,
  );
  await assertRejects(
    () => promptPassword("P", { term: fakeTerminal("ab") }),
    UsageError,
    "closed",
  );
  assertEquals(
    await promptPassword("P", { term: fakeTerminal("\r") }),
    "",
    "an existing one may be empty",
  );
});
