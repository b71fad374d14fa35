import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, makeRepo, writeJobFile } from "./_launcher.ts";

/** A job file with one job that backs up and one whose repository does not exist. */
async function agentSetup() {
  const { dir, env } = await makeRepo();
  await Deno.mkdir(`${dir}/src`);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "alpha\n");
  const config = await writeJobFile(dir, env, [
    "[repository.gone]",
    `path = "${dir}/no-repo"`,
    `password_file = "${dir}/password"`,
    "[[job]]",
    `name = "good"`,
    `repository = "main"`,
    `paths = ["${dir}/src"]`,
    `schedule = "@yearly"`,
    "[[job]]",
    `name = "bad"`,
    `repository = "gone"`,
    `paths = ["${dir}/src"]`,
    `schedule = "@yearly"`,
  ]);
  return { dir, env, config, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** Runs cairn with stderr exported as the journal's stream, as systemd does for a service. */
function underJournal(args: string[], extra: Record<string, string> = {}) {
  // `stat -L /proc/self/fd/2` in the shell names the pipe cairn's stderr will be (exec keeps it).
  const cmd = `JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$@"`;
  return cairn(args, { wrap: ["sh", "-c", cmd, "sh", "env"], env: extra });
}

const STAMPED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warning|error): /;

Deno.test("the agent's log lines carry a UTC time and a severity; a failed job is an error", async () => {
  await using t = await agentSetup();
  const r = await cairn(["agent", "--config", t.config, "--once"]);
  assertEquals(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  for (const l of lines) assertMatch(l, STAMPED);
  assert(lines.some((l) => / info: job "good": starting$/.test(l)), r.stderr);
  assert(lines.some((l) => / error: job "bad": failed: /.test(l)), r.stderr);
  assert(lines.some((l) => / info: ran 2 due job\(s\)$/.test(l)), r.stderr);
});

Deno.test("under the journal, lines start with their syslog priority and carry no timestamp", async () => {
  await using t = await agentSetup();
  const r = await underJournal(["agent", "--config", t.config, "--once"]);
  assertEquals(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split("\n");
  for (const l of lines) {
    assertMatch(l, /^<[3467]>/);
    assert(!/^<\d>\S*\d{4}-\d\d-\d\dT/.test(l), `no time of its own: ${l}`);
  }
  assert(lines.includes(`<6>job "good": starting`), r.stderr);
  assert(lines.some((l) => l.startsWith(`<3>error: job "bad": failed: `)), r.stderr);

  // An inherited JOURNAL_STREAM that names another stream is not the journal.
  const inherited = await cairn(["agent", "--config", t.config, "--once"], {
    env: { JOURNAL_STREAM: "1:2" },
  });
  for (const l of inherited.stderr.trim().split("\n")) assertMatch(l, STAMPED);
});

Deno.test("--quiet leaves only warnings and errors; --verbose adds the error's stack", async () => {
  await using t = await agentSetup();
  const quiet = await cairn(["agent", "--config", t.config, "--once", "--quiet"]);
  assertEquals(quiet.code, 1, quiet.stderr);
  const lines = quiet.stderr.trim().split("\n");
  assert(lines.length > 0 && lines.every((l) => / (warning|error): /.test(l)), quiet.stderr);
  assertStringIncludes(quiet.stderr, `error: job "bad": failed`);

  const env = { CAIRN_REPO: `${t.dir}/no-repo`, CAIRN_PASSWORD: "x" };
  const plain = await cairn(["snapshots"], { env });
  assertEquals(plain.code, 1);
  assertEquals(plain.stderr.trim().split("\n").length, 1, plain.stderr);
  const verbose = await cairn(["snapshots", "--verbose"], { env });
  assertEquals(verbose.code, 1);
  const [first, ...stack] = verbose.stderr.trim().split("\n");
  assertEquals(first, plain.stderr.trim());
  assert(stack.length > 0 && stack.every((l) => l.startsWith("debug: ")), verbose.stderr);
  assertStringIncludes(stack.join("\n"), "at ");

  const both = await cairn(["snapshots", "-q", "-v"], { env });
  assertEquals(both.code, 2);
  assertStringIncludes(both.stderr, "--quiet and --verbose exclude each other");
});
