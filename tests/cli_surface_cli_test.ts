/**
 * Issue 14's command-line bullets no other end-to-end test runs: one-line
 * errors (a typo of a command or an option, a repository path that is a
 * file), `cairn help COMMAND`, `version`, `completion` and `man` through the
 * real binary, `check --read-data-subset`, and `cairn status`'s exit codes
 * for a partial and a failed job.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, randomBytes, writeJobFile } from "./_launcher.ts";

const oneLine = (s: string) => s.trim().split("\n").length === 1;

Deno.test("typos, unknown options and a repository that is a file fail with one clean line", async () => {
  const cmd = await cairn(["snapshot"]);
  assertEquals(cmd.code, 2);
  assert(oneLine(cmd.stderr), cmd.stderr);
  assertStringIncludes(cmd.stderr, `unknown command "snapshot" (did you mean "snapshots"?`);

  const opt = await cairn(["backup", "--exclud", "x", "/tmp"]);
  assertEquals(opt.code, 2);
  assertEquals(
    opt.stderr.trim(),
    "cairn backup: unknown option --exclud (did you mean --exclude?); see --help",
  );

  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/file`, "not a repository\n");
    const r = await cairn(["snapshots"], {
      env: { CAIRN_REPO: `${dir}/file`, CAIRN_PASSWORD: "x" },
    });
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr.trim(),
      `cairn snapshots: repository ${dir}/file is a file, not a repository directory`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("help COMMAND, version, completion and man work through the binary", async () => {
  const help = await cairn(["help", "stats"]);
  assertEquals(help.code, 0, help.stderr);
  assertStringIncludes(help.stdout, "Usage: cairn stats");
  assertStringIncludes(help.stdout, "--host HOST");
  const unknown = await cairn(["help", "stat"]);
  assertEquals(unknown.code, 2);
  assertStringIncludes(unknown.stderr, `did you mean "stats"?`);

  const version = await cairn(["version"]);
  const { version: declared } = JSON.parse(
    await Deno.readTextFile(new URL("../deno.json", import.meta.url)),
  );
  assertEquals(version.stdout.trim(), `cairn ${declared}`);

  const bash = await cairn(["completion", "bash"]);
  assertEquals(bash.code, 0);
  assertStringIncludes(bash.stdout, "_cairn()");
  const tcsh = await cairn(["completion", "tcsh"]);
  assertEquals(tcsh.code, 2);
  assert(oneLine(tcsh.stderr), tcsh.stderr);
  const man = await cairn(["man"]);
  assertEquals(man.code, 0);
  assertMatch(man.stdout, /^\.TH CAIRN 1 /m);
  assertStringIncludes(man.stdout, ".SS cairn stats");
});

Deno.test("check --read-data-subset N/M reads each pack in exactly one part; a bad subset exits 2", async () => {
  const { dir, env } = await makeRepo();
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(src);
    // Several packs: pack_size is 4 MiB by default.
    await Deno.writeFile(`${src}/big.bin`, randomBytes(14 << 20));
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    const read = async (subset: string) => {
      const r = await cairn(["check", "--read-data-subset", subset, "--json"], { env });
      assertEquals(r.code, 0, r.stdout + r.stderr);
      return lastJson<{ ok: boolean; stats: { packs: number; bytes_read: number } }>(r).stats;
    };
    const all = await read("100%");
    const one = await read("1/2");
    const two = await read("2/2");
    assert(all.packs >= 3, `${all.packs} packs`);
    assertEquals(one.bytes_read + two.bytes_read, all.bytes_read);
    assert(one.bytes_read > 0 || two.bytes_read > 0);

    const bad = await cairn(["check", "--read-data-subset", "3/2"], { env });
    assertEquals(bad.code, 2);
    assert(oneLine(bad.stderr), bad.stderr);
    assertStringIncludes(bad.stderr, "--read-data-subset");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cairn status exits 3 when a job's last run was partial and 1 when one failed", async () => {
  const { dir, env } = await makeRepo();
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(src);
    await Deno.writeTextFile(`${src}/a.txt`, "alpha\n");
    // A mirror cairn refuses (a folder of someone else's files) makes the run partial.
    await Deno.mkdir(`${dir}/not-a-mirror`);
    await Deno.writeTextFile(`${dir}/not-a-mirror/theirs.txt`, "keep me\n");
    const config = await writeJobFile(dir, env, [
      "[[job]]",
      `name = "part"`,
      `paths = ["${src}"]`,
      `mirror = { path = "${dir}/not-a-mirror" }`,
      "[[job]]",
      `name = "broken"`,
      `paths = ["${dir}/missing"]`,
    ]);
    assertEquals((await cairn(["status", "--config", config])).code, 0, "never run: all good");
    const part = await cairn(["run", "--config", config, "part"]);
    assertEquals(part.code, 3, part.stdout + part.stderr);
    const partial = await cairn(["status", "--config", config]);
    assertEquals(partial.code, 3, partial.stdout);
    const broken = await cairn(["run", "--config", config, "broken"]);
    assertEquals(broken.code, 1, broken.stdout + broken.stderr);
    const failed = await cairn(["status", "--config", config, "--json"]);
    assertEquals(failed.code, 1, failed.stdout);
    const rows = lastJson<{ job: string; result: string }[]>(failed);
    assertEquals(rows.map((r) => [r.job, r.result]), [["part", "partial"], ["broken", "failed"]]);
    assertEquals(await Deno.readTextFile(`${dir}/not-a-mirror/theirs.txt`), "keep me\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cairn status exits 1 for a scheduled job that let two slots pass (overdue)", async () => {
  const { dir, env } = await makeRepo();
  try {
    await Deno.mkdir(`${dir}/src`);
    await Deno.writeTextFile(`${dir}/src/a.txt`, "alpha\n");
    const config = await writeJobFile(dir, env, [
      "[[job]]",
      `name = "hourly"`,
      `paths = ["${dir}/src"]`,
      `schedule = "@hourly"`,
    ]);
    const ran = await cairn(["run", "--config", config, "hourly"]);
    assertEquals(ran.code, 0, ran.stderr);
    assertEquals((await cairn(["status", "--config", config])).code, 0);
    // The record the run left, moved three hours back: no agent has run the job since.
    const file = `${dir}/state/jobs/hourly.json`;
    const record = JSON.parse(await Deno.readTextFile(file));
    const back = (iso: string) => new Date(Date.parse(iso) - 3 * 3600_000).toISOString();
    for (const k of ["lastStart", "lastEnd", "lastSuccess"]) record[k] = back(record[k]);
    delete record.nextRun;
    await Deno.writeTextFile(file, JSON.stringify(record));
    const status = await cairn(["status", "--config", config, "--json"]);
    assertEquals(status.code, 1, status.stdout);
    const [row] = lastJson<{ job: string; result: string; health: string }[]>(status);
    assertEquals([row.job, row.result, row.health], ["hourly", "success", "overdue"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
