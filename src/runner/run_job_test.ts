import { join } from "node:path";
import { LocalBackend } from "../backend/mod.ts";
import { type CommandContext, memoryOutput, readPassword } from "../cli/mod.ts";
import { type JobConfig, loadJobConfig } from "../job/mod.ts";
import { Repository } from "../repo/mod.ts";
import { assert, assertEquals, assertMatch } from "../testing/asserts.ts";
import { exitCodeOf, readJobPassword, runJobNow, worstExitCode } from "./run_job.ts";

const FAST_KDF = { kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 } };

/** A temp dir with a repository (password in a file), a source tree and a job file. */
async function setup(jobs: string, extra = "") {
  const dir = await Deno.makeTempDir({ prefix: "cairn-job-runner-" });
  const repoDir = join(dir, "repo");
  await Repository.init(await LocalBackend.create(repoDir), "pw", FAST_KDF);
  await Deno.writeTextFile(join(dir, "password"), "pw\n");
  const src = join(dir, "src");
  await Deno.mkdir(join(src, "sub"), { recursive: true });
  await Deno.writeTextFile(join(src, "a.txt"), "hello");
  await Deno.writeTextFile(join(src, "sub", "b.txt"), "world");
  const file = join(dir, "cairn.toml");
  await Deno.writeTextFile(
    file,
    [
      `state_dir = "${dir}/state"`,
      extra,
      `[repository.main]`,
      `path = "${repoDir}"`,
      `password_file = "${dir}/password"`,
      jobs.replaceAll("$SRC", src).replaceAll("$DIR", dir),
    ].join("\n"),
  );
  const config = await loadJobConfig(file, { env: { HOME: dir } });
  const output = memoryOutput();
  const run = (name: string, c: JobConfig = config) =>
    runJobNow(c, c.jobs.find((j) => j.name === name)!, {
      output,
      env: {},
      programVersion: "cairn test",
    });
  const snapshots = async () =>
    await (await Repository.open(new LocalBackend(repoDir), "pw")).listSnapshots();
  const cleanup = () => Deno.remove(dir, { recursive: true });
  return { dir, src, config, output, run, snapshots, [Symbol.asyncDispose]: cleanup };
}

Deno.test("runJobNow() backs up a job with its tags, host and job name", async () => {
  await using t = await setup(`
[[job]]
name = "docs"
paths = ["$SRC"]
tags = ["daily", "docs"]
host = "box1"
`);
  const r = await t.run("docs");
  assertEquals(r.result, "success", r.error);
  assertEquals(r.files, 2);
  assert(r.bytesAdded! > 0);
  const [s] = await t.snapshots();
  assertEquals([s.id, s.job, s.tags, s.host, s.paths], [
    r.snapshot,
    "docs",
    [
      "daily",
      "docs",
    ],
    "box1",
    [t.src],
  ]);
  // A second run uses the first as parent: nothing new is read.
  const again = await t.run("docs");
  assertEquals(again.result, "success");
  assertEquals((await t.snapshots())[1].parent, r.snapshot);
});

Deno.test("runJobNow() skips the run when a before hook fails, and says why", async () => {
  await using t = await setup(`
[[job]]
name = "db"
paths = ["$SRC"]
before = ["true", "echo dump failed >&2; exit 4", "touch $DIR/not-reached"]
after = ["echo $CAIRN_RESULT > $DIR/after"]
`);
  const r = await t.run("db");
  assertEquals(r.result, "skipped");
  assertMatch(r.error!, /exited with code 4: dump failed/);
  assertEquals(r.snapshot, undefined);
  assertEquals(await t.snapshots(), []);
  assertEquals(await Deno.readTextFile(join(t.dir, "after")), "skipped\n");
  assertEquals(await Deno.stat(join(t.dir, "not-reached")).catch(() => null), null);
});

Deno.test("runJobNow() gives after hooks CAIRN_JOB, CAIRN_RESULT and CAIRN_SNAPSHOT", async () => {
  await using t = await setup(`
[[job]]
name = "etc"
paths = ["$SRC"]
after = ["echo $CAIRN_JOB $CAIRN_RESULT $CAIRN_SNAPSHOT > $DIR/after", "exit 1"]
`);
  const r = await t.run("etc");
  assertEquals(r.result, "success", r.error);
  assertEquals(await Deno.readTextFile(join(t.dir, "after")), `etc success ${r.snapshot}\n`);
  // A failing after hook is a warning; it does not change the result.
  assert(t.output.stderr.some((l) => /after: command "exit 1" exited with code 1/.test(l)));
});

Deno.test("runJobNow() applies the keep policy to this job's snapshots only", async () => {
  await using t = await setup(`
[[job]]
name = "kept"
paths = ["$SRC"]
keep = { last = 2 }

[[job]]
name = "other"
paths = ["$SRC"]
`);
  assertEquals((await t.run("other")).result, "success");
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    await Deno.writeTextFile(join(t.src, "a.txt"), `version ${i}`);
    const r = await t.run("kept");
    assertEquals(r.result, "success", r.error);
    ids.push(r.snapshot!);
  }
  const left = await t.snapshots();
  assertEquals(left.filter((s) => s.job === "kept").map((s) => s.id), ids.slice(2));
  assertEquals(left.filter((s) => s.job === "other").length, 1);
  assert(t.output.stderr.some((l) => /removed 1 snapshot\(s\) by the keep policy/.test(l)));
});

Deno.test("runJobNow() reports an unreadable file as partial and keeps the rest", async () => {
  await using t = await setup(`
[[job]]
name = "some"
paths = ["$SRC", "$UNREADABLE"]
`.replace("$UNREADABLE", await unreadableFile()));
  const r = await t.run("some");
  assertEquals(r.result, "partial");
  assertMatch(r.error!, /1 file\(s\) could not be read/);
  const [s] = await t.snapshots();
  assertEquals(s.id, r.snapshot);
  assertEquals(s.incomplete, { errors: 1 });
  assertEquals(exitCodeOf(r.result), 3);
});

Deno.test("runJobNow() fails without throwing when the repository cannot be opened", async () => {
  await using t = await setup(`
[[job]]
name = "x"
paths = ["$SRC"]
`);
  await Deno.writeTextFile(join(t.dir, "password"), "wrong\n");
  const r = await t.run("x");
  assertEquals(r.result, "failed");
  assertMatch(r.error!, /Wrong password/);
  const noPw: JobConfig = {
    ...t.config,
    repositories: { main: { name: "main", path: join(t.dir, "repo"), passwordEnv: "NOPE" } },
  };
  assertMatch((await t.run("x", noPw)).error!, /environment variable NOPE is not set/);
});

Deno.test("runJobNow() backs up and brings the job's mirror up to date", async () => {
  await using t = await setup(`
[[job]]
name = "m"
paths = ["$SRC"]
mirror = { path = "$DIR/mirror/{job}" }
`);
  assertEquals((await t.run("m")).result, "success");
  assert(t.output.stderr.some((l) => /Mirror .*mirror\/m: \d+ written/.test(l)));
  assert(Deno.lstatSync(join(t.dir, "mirror", "m", ".cairn-mirror.json")).isFile);
});

Deno.test("runJobNow() of a remote job refuses a path a symlink now leads out of the prefix", async () => {
  await using t = await setup(`
[[job]]
name = "www"
paths = ["$DIR/allowed/site/sub"]
host = "other"
`);
  const allowed = [join(t.dir, "allowed")];
  const job = t.config.jobs[0];
  await Deno.mkdir(join(t.dir, "allowed", "site", "sub"), { recursive: true });
  await Deno.writeTextFile(join(t.dir, "allowed", "site", "sub", "ok.txt"), "fine");
  const run = () =>
    runJobNow(t.config, job, {
      output: t.output,
      env: {},
      programVersion: "cairn test",
      remoteAllowPaths: allowed,
    });
  const ok = await run();
  assertEquals(ok.result, "success", ok.error);
  // A remote job acts as this machine, whatever its host says.
  assertEquals((await t.snapshots()).map((s) => s.host), [Deno.hostname()]);

  // Planted after the document was accepted: site -> the source tree outside the prefix.
  await Deno.remove(join(t.dir, "allowed", "site"), { recursive: true });
  await Deno.symlink(t.src, join(t.dir, "allowed", "site"));
  const r = await run();
  assertEquals(r.result, "failed");
  assertEquals(
    r.error,
    `not allowed: job "www": path "${t.dir}/allowed/site/sub" leads to "${await Deno.realPath(
      t.src,
    )}/sub", which is not under any remote.allow.paths prefix`,
  );
  assertEquals((await t.snapshots()).length, 1, "nothing was backed up");
});

Deno.test("one password file gives one password to --password-file, CAIRN_PASSWORD_FILE and a job", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-pw-rule-" });
  try {
    const file = join(dir, "pw");
    // Two trailing newlines and a CRLF: the job file's old first-line rule and the command
    // line's old one-newline rule gave two different passwords for this file.
    await Deno.writeTextFile(file, "correct horse\r\n\n");
    const cli = (flags: Record<string, string>, env: Record<string, string>) =>
      readPassword(
        {
          flags,
          positionals: [],
          env,
          output: memoryOutput(),
          signal: new AbortController().signal,
        } satisfies CommandContext,
      );
    const job = readJobPassword({ name: "main", path: join(dir, "repo"), passwordFile: file }, {});
    assertEquals(job, "correct horse");
    assertEquals(cli({ "password-file": file }, {}), job);
    assertEquals(cli({}, { CAIRN_PASSWORD_FILE: file }), job);
    // And the job file's fallback to CAIRN_PASSWORD_FILE reads it the same way.
    assertEquals(readJobPassword({ name: "main", path: "/r" }, { CAIRN_PASSWORD_FILE: file }), job);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("worstExitCode() ranks failed above partial above success", () => {
  assertEquals(worstExitCode([]), 0);
  assertEquals(worstExitCode(["success", "partial"]), 3);
  assertEquals(worstExitCode(["partial", "skipped", "success"]), 1);
  assertEquals(worstExitCode(["failed", "partial"]), 1);
});

/**
 * A path the backup cannot read. Root reads files whatever their mode, but
 * not a write-only sysctl file, so root uses one of those.
 */
async function unreadableFile(): Promise<string> {
  if (Deno.uid() === 0) return "/proc/sys/vm/compact_memory";
  const dir = await Deno.makeTempDir({ prefix: "cairn-unreadable-" });
  const file = join(dir, "secret");
  await Deno.writeTextFile(file, "no");
  await Deno.chmod(file, 0o000);
  return file;
}

Deno.test("runJobNow() copies the new snapshot to copy_to repositories and thins them", async () => {
  await using t = await setup(`
copy_to = [{ repository = "offsite", keep = { last = 1 } }]

[repository.offsite]
path = "$DIR/offsite"
password_file = "$DIR/password"
init = true
`.replace(/^/, `[[job]]\nname = "docs"\nrepository = "main"\npaths = ["$SRC"]\n`));
  const first = await t.run("docs");
  assertEquals(first.result, "success", first.error);
  const offsite = await Repository.open(new LocalBackend(join(t.dir, "offsite")), "pw");
  // Made on first use with the source's chunker secret, so blobs are copied as they are.
  assertEquals(
    offsite.master.id,
    (await Repository.open(new LocalBackend(join(t.dir, "repo")), "pw")).master.id,
  );
  let copies = await offsite.listSnapshots();
  assertEquals(copies.map((s) => [s.original, s.job]), [[first.snapshot, "docs"]]);
  await Deno.writeTextFile(join(t.src, "c.txt"), "more");
  const second = await t.run("docs");
  assertEquals(second.result, "success", second.error);
  copies = await offsite.listSnapshots();
  // keep = { last = 1 } there; the job's own repository keeps both.
  assertEquals(copies.map((s) => s.original), [second.snapshot]);
  assertEquals((await t.snapshots()).length, 2);
  assert(t.output.stderr.some((l) => /removed 1 snapshot\(s\) from "offsite" by its keep/.test(l)));
});

Deno.test("runJobNow() fails a run whose copy fails, naming the target, and keeps the snapshot", async () => {
  await using t = await setup(`
keep = { last = 1 }
copy_to = ["offsite"]

[repository.offsite]
path = "$DIR/offsite"
password_file = "$DIR/password"
`.replace(/^/, `[[job]]\nname = "docs"\nrepository = "main"\npaths = ["$SRC"]\n`));
  // No repository at "offsite" and no init = true: every copy fails.
  const first = await t.run("docs");
  const second = await t.run("docs");
  for (const r of [first, second]) {
    assertEquals(r.result, "failed");
    assertMatch(r.error!, /^copy to "offsite" failed: /);
    assert(r.snapshot);
  }
  // Both snapshots stay: a failed run applies no keep policy.
  assertEquals((await t.snapshots()).map((s) => s.id), [first.snapshot, second.snapshot]);
});

Deno.test("runJobNow() copies a partial backup too, and the run stays partial", async () => {
  await using t = await setup(`
[[job]]
name = "some"
repository = "main"
paths = ["$SRC", "$UNREADABLE"]
copy_to = ["offsite"]

[repository.offsite]
path = "$DIR/offsite"
password_file = "$DIR/password"
init = true
`.replace("$UNREADABLE", await unreadableFile()));
  const r = await t.run("some");
  assertEquals(r.result, "partial");
  assertMatch(r.error!, /^1 file\(s\) could not be read/);
  const offsite = await Repository.open(new LocalBackend(join(t.dir, "offsite")), "pw");
  const [copy] = await offsite.listSnapshots();
  assertEquals([copy.original, copy.incomplete], [r.snapshot, { errors: 1 }]);
});
