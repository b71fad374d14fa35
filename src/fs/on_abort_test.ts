import { assertEquals } from "../testing/asserts.ts";
import { onAbort } from "./on_abort.ts";

Deno.test("onAbort() calls back once when the signal aborts later", () => {
  const ac = new AbortController();
  let calls = 0;
  onAbort(ac.signal, () => calls++);
  assertEquals(calls, 0);
  ac.abort();
  ac.abort();
  assertEquals(calls, 1);
});

Deno.test("onAbort() calls back at once for a signal aborted before", () => {
  let calls = 0;
  onAbort(AbortSignal.abort(), () => calls++);
  assertEquals(calls, 1);
});

Deno.test("onAbort()'s remover unsubscribes; without a signal nothing is called", () => {
  const ac = new AbortController();
  let calls = 0;
  const off = onAbort(ac.signal, () => calls++);
  off();
  ac.abort();
  onAbort(undefined, () => calls++)();
  assertEquals(calls, 0);
});
