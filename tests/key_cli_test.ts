/**
 * `cairn key list|add|remove|passwd`, and passwords typed on a terminal:
 * those tests run cairn under `script` (util-linux), a real pty, and type
 * each line once its prompt has appeared.
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";

interface KeyJson {
  id: string;
  current: boolean;
  host: string;
  username: string;
}

async function keys(env: Record<string, string>): Promise<KeyJson[]> {
  const r = await cairn(["key", "list", "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function secretFile(dir: string, name: string, pw: string): Promise<string> {
  const f = `${dir}/${name}`;
  await Deno.writeTextFile(f, `${pw}\n`);
  return f;
}

Deno.test("key add: a second password opens the same repository; list marks the key in use", async () => {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  await Deno.writeTextFile(`${src}/a.txt`, "hello\n");
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const dataBefore = [...Deno.readDirSync(`${dir}/repo/data`)].length;

  const nf = await secretFile(dir, "new", "second secret");
  const add = await cairn(["key", "add", "--new-password-file", nf, "--host", "laptop", "--json"], {
    env,
  });
  assertEquals(add.code, 0, add.stderr);
  const added = lastJson<{ added: string }>(add).added;
  const list = await keys(env);
  assertEquals(list.length, 2);
  assertEquals(list.find((k) => k.current)?.id !== added, true, "the first key is in use");
  assertEquals(list.find((k) => k.id === added)?.host, "laptop");

  const other = { ...env, CAIRN_PASSWORD: "second secret" };
  const snaps = await cairn(["snapshots", "--json"], { env: other });
  assertEquals(snaps.code, 0, snaps.stderr);
  assertEquals(JSON.parse(snaps.stdout).length, 1);
  assertEquals((await keys(other)).find((k) => k.current)?.id, added);
  assertEquals([...Deno.readDirSync(`${dir}/repo/data`)].length, dataBefore, "no data rewritten");

  const human = await cairn(["key", "list"], { env });
  assertMatch(human.stdout, /^\* [0-9a-f]{12} /m);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("key remove refuses the key in use and removes another; a wrong id is one line", async () => {
  const { dir, env } = await makeRepo();
  const nf = await secretFile(dir, "new", "second secret");
  const added = lastJson<{ added: string }>(
    await cairn(["key", "add", "--new-password-file", nf, "--json"], { env }),
  ).added;
  const first = (await keys(env)).find((k) => k.current)!.id;

  const self = await cairn(["key", "remove", first.slice(0, 8)], { env });
  assertEquals(self.code, 1, self.stderr);
  assertEquals(self.stderr.trim().split("\n").length, 1, self.stderr);
  assertStringIncludes(self.stderr, "is the one in use");

  const missing = await cairn(["key", "remove", "ffffffffff"], { env });
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, 'No key "ffffffffff"');

  // Opened with the second password, the first key can go; the old password then fails.
  const other = { ...env, CAIRN_PASSWORD: "second secret" };
  const rm = await cairn(["key", "remove", first.slice(0, 8)], { env: other });
  assertEquals(rm.code, 0, rm.stderr);
  assertEquals((await keys(other)).map((k) => k.id), [added]);
  const old = await cairn(["snapshots"], { env });
  assertEquals(old.code, 1);
  assertStringIncludes(old.stderr, "Wrong password");
  // The one key left is both in use and the last: refused.
  const last = await cairn(["key", "remove", added], { env: other });
  assertEquals(last.code, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("key passwd changes the password without touching data; usage errors exit 2", async () => {
  const { dir, env } = await makeRepo();
  const before = (await keys(env))[0].id;
  const nf = await secretFile(dir, "new", "changed secret");
  const r = await cairn(["key", "passwd", "--new-password-file", nf, "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  const { added, removed } = lastJson<{ added: string; removed: string }>(r);
  assertEquals(removed, before);
  assertEquals((await cairn(["snapshots"], { env })).code, 1, "the old password is gone");
  const now = { ...env, CAIRN_PASSWORD: "changed secret" };
  assertEquals((await keys(now)).map((k) => k.id), [added]);

  const noPw = await cairn(["key", "add"], { env: now });
  assertEquals(noPw.code, 2);
  assertStringIncludes(noPw.stderr, "No new password given");
  const bad = await cairn(["key", "frobnicate"], { env: now });
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "expected list, add, remove, passwd");
  const unreadable = await cairn(["key", "add", "--new-password-file", `${dir}/nope`], {
    env: now,
  });
  assertEquals(unreadable.code, 2);
  assertStringIncludes(unreadable.stderr, `${dir}/nope`);
  const empty = await secretFile(dir, "empty", "");
  const e = await cairn(["key", "add", "--new-password-file", empty], { env: now });
  assertEquals(e.code, 2);
  assertStringIncludes(e.stderr, "empty password");
  await Deno.remove(dir, { recursive: true });
});

// ---- on a terminal ----------------------------------------------------------------------------

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));
const HAVE_SCRIPT = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

function quote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * Runs cairn on a pty: each time the output shows the next prompt of
 * `answers` ([prompt text, line to type]), types its line. Returns the exit
 * code and everything the terminal showed.
 */
async function onTerminal(
  args: string[],
  env: Record<string, string>,
  answers: [string, string][],
): Promise<{ code: number; screen: string }> {
  const cmd = [Deno.execPath(), "run", "--allow-all", "--quiet", MAIN, ...args].map(quote).join(
    " ",
  );
  const child = new Deno.Command("script", {
    args: ["-qefc", cmd, "/dev/null"],
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  let screen = "";
  let next = 0;
  let seenUpTo = 0;
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    screen += decoder.decode(chunk, { stream: true });
    while (next < answers.length) {
      const at = screen.indexOf(answers[next][0], seenUpTo);
      if (at === -1) break;
      seenUpTo = at + answers[next][0].length;
      await writer.write(new TextEncoder().encode(`${answers[next][1]}\r`));
      next++;
    }
  }
  const status = await child.status;
  await writer.close().catch(() => {});
  await child.stderr.cancel();
  return { code: status.code, screen };
}

Deno.test({
  name: "on a terminal, init asks for the password twice and refuses two that differ",
  ignore: !HAVE_SCRIPT,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cairn-tty-" });
    const env = { CAIRN_REPO: `${dir}/repo` };
    const init = ["init", "--kdf-memory", "8", "--kdf-iterations", "1"];
    const differ = await onTerminal(init, env, [
      ["new repository: ", "pw-alpha"],
      ["again: ", "pw-beta"],
    ]);
    assertEquals(differ.code, 2, differ.screen);
    assertStringIncludes(differ.screen, "do not match");
    assert(!/pw-alpha|pw-beta/.test(differ.screen), `echoed: ${JSON.stringify(differ.screen)}`);
    const ok = await onTerminal(init, env, [["new repository: ", "typed pw"], [
      "again: ",
      "typed pw",
    ]]);
    assertEquals(ok.code, 0, ok.screen);
    assert(
      !ok.screen.includes("typed pw"),
      `the password was echoed: ${JSON.stringify(ok.screen)}`,
    );
    // Another command asks once; the typed password opens the repository.
    const snaps = await cairn(["snapshots", "--json"], {
      env: { ...env, CAIRN_PASSWORD: "typed pw" },
    });
    assertEquals(snaps.code, 0, snaps.stderr);
    const listed = await onTerminal(["key", "list"], env, [["Repository password: ", "typed pw"]]);
    assertEquals(listed.code, 0, listed.screen);
    assertMatch(listed.screen, /\* [0-9a-f]{12} /);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "on a terminal, key add and key passwd ask for the new password twice",
  ignore: !HAVE_SCRIPT,
  async fn() {
    const { dir, env } = await makeRepo();
    const add = await onTerminal(["key", "add"], env, [
      ["New password: ", "tty one"],
      ["New password again: ", "tty one"],
    ]);
    assertEquals(add.code, 0, add.screen);
    assertStringIncludes(add.screen, "added key");
    const one = { ...env, CAIRN_PASSWORD: "tty one" };
    assertEquals((await keys(one)).length, 2);
    const passwd = await onTerminal(["key", "passwd"], one, [
      ["New password: ", "tty two"],
      ["New password again: ", "tty two"],
    ]);
    assertEquals(passwd.code, 0, passwd.screen);
    assertEquals((await cairn(["snapshots"], { env: one })).code, 1, "tty one is gone");
    assertEquals((await keys({ ...env, CAIRN_PASSWORD: "tty two" })).length, 2);
    await Deno.remove(dir, { recursive: true });
  },
});
