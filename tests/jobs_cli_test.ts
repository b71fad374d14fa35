import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, writeJobFile } from "./_launcher.ts";

interface SnapshotJson {
  id: string;
  job?: string;
  tags: string[];
  host: string;
  paths: string[];
}

interface StatusJson {
  job: string;
  last_start?: string;
  last_end?: string;
  result?: string;
  snapshot?: string;
  files?: number;
  bytes_added?: number;
  next_run?: string;
  schedule: string | null;
}

/** A repository, a source tree and a job file using both; `jobs` is the [[job]] part. */
async function jobSetup(jobs: string) {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/sub`, { recursive: true });
  await Deno.writeTextFile(`${src}/a.txt`, "alpha\n");
  await Deno.writeTextFile(`${src}/sub/b.txt`, "bravo\n");
  const config = await writeJobFile(dir, env, [jobs.replaceAll("$SRC", src)], undefined, [
    `metrics_file = "${dir}/cairn.prom"`,
  ]);
  const snapshots = async () => {
    const r = await cairn(["snapshots", "--json"], { env });
    assertEquals(r.code, 0, r.stderr);
    return lastJson<SnapshotJson[]>(r);
  };
  const cleanup = () => Deno.remove(dir, { recursive: true });
  return { dir, env, src, config, snapshots, [Symbol.asyncDispose]: cleanup };
}

const DOCS_JOB = `
[[job]]
name = "docs"
paths = ["$SRC"]
tags = ["nightly", "docs"]
schedule = "@yearly"

[[job]]
name = "manual"
paths = ["$SRC/sub"]
`;

Deno.test("cairn run runs the named job; its snapshot carries the job's tags and name", async () => {
  await using t = await jobSetup(DOCS_JOB);
  // No repository environment: the job file says where the repository and password are.
  const r = await cairn(["run", "--config", t.config, "docs"]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /^job "docs": success, snapshot [0-9a-f]{8}, 2 files/);
  const [s] = await t.snapshots();
  assertEquals([s.job, s.tags, s.paths], ["docs", ["nightly", "docs"], [t.src]]);
  const metrics = await Deno.readTextFile(`${t.dir}/cairn.prom`);
  assertStringIncludes(metrics, `cairn_job_last_result{job="docs",result="success"} 1`);

  // All jobs, in file order, as JSON.
  const all = await cairn(["run", "--config", t.config, "--json"]);
  assertEquals(all.code, 0, all.stderr);
  assertEquals(lastJson<{ job: string; result: string }[]>(all).map((x) => [x.job, x.result]), [
    ["docs", "success"],
    ["manual", "success"],
  ]);
  assertEquals((await t.snapshots()).length, 3);
});

Deno.test("cairn run exits 2 with file:line for malformed TOML, and for an unknown job", async () => {
  await using t = await jobSetup(DOCS_JOB);
  const bad = `${t.dir}/bad.toml`;
  await Deno.writeTextFile(bad, `state_dir = "/tmp"\n\n[[job]\nname = "x"\n`);
  const r = await cairn(["run", "--config", bad]);
  assertEquals(r.code, 2, r.stderr);
  assertStringIncludes(r.stderr, `${bad}:3:`);
  assertEquals(r.stderr.trim().split("\n").length, 1, "one line");

  const unknown = await cairn(["run", "--config", t.config, "docs", "nope"]);
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /unknown job "nope" \(jobs: docs, manual\)/);
  assertEquals(await t.snapshots(), [], "nothing ran");

  const missing = await cairn(["run", "--config", `${t.dir}/absent.toml`]);
  assertEquals(missing.code, 2);
  assertStringIncludes(missing.stderr, "file not found");
});

Deno.test("cairn run exits 1 when a before hook fails and 3 when a file is unreadable", async () => {
  await using t = await jobSetup(`
[[job]]
name = "hooked"
paths = ["$SRC"]
before = ["echo database is down >&2; exit 1"]

[[job]]
name = "some"
paths = ["$SRC", "${Deno.uid() === 0 ? "/proc/sys/vm/compact_memory" : "$SRC/secret"}"]
`);
  if (Deno.uid() !== 0) {
    await Deno.writeTextFile(`${t.src}/secret`, "x");
    await Deno.chmod(`${t.src}/secret`, 0o000);
  }
  const hooked = await cairn(["run", "--config", t.config, "hooked"]);
  assertEquals(hooked.code, 1, hooked.stderr);
  assertMatch(
    hooked.stdout,
    /job "hooked": skipped: before: .*exited with code 1: database is down/,
  );
  const partial = await cairn(["run", "--config", t.config, "some"]);
  assertEquals(partial.code, 3, partial.stderr);
  assertMatch(partial.stdout, /job "some": partial/);
  assertEquals((await cairn(["run", "--config", t.config])).code, 1, "worst of both");
});

Deno.test("cairn agent --once runs a never-run job, then nothing until it is due", async () => {
  await using t = await jobSetup(DOCS_JOB);
  const first = await cairn(["agent", "--config", t.config, "--once"]);
  assertEquals(first.code, 0, first.stderr);
  assertMatch(first.stderr, /^\d{4}-\d\d-\d\dT\S+Z info: job "docs": starting$/m);
  assertStringIncludes(first.stderr, "ran 1 due job(s)");
  const snaps = await t.snapshots();
  assertEquals(snaps.map((s) => s.job), ["docs"], "jobs without schedule only run by 'cairn run'");

  const second = await cairn(["agent", "--config", t.config, "--once"]);
  assertEquals(second.code, 0, second.stderr);
  assertStringIncludes(second.stderr, "ran 0 due job(s)");
  assertMatch(
    second.stderr,
    /info: nothing was due; next: job "docs" at \d{4}-\d\d-\d\dT[\d:.]+Z$/m,
  );
  assertEquals((await t.snapshots()).length, 1);

  const status = await cairn(["status", "--config", t.config, "--json"]);
  assertEquals(status.code, 0, status.stderr);
  const [docs, manual] = lastJson<StatusJson[]>(status);
  assertEquals([docs.job, docs.result, docs.snapshot, docs.files], [
    "docs",
    "success",
    snaps[0].id,
    2,
  ]);
  assert(Date.parse(docs.last_end!) >= Date.parse(docs.last_start!));
  assert(Date.parse(docs.next_run!) > Date.now(), "the next yearly slot is in the future");
  assertEquals([manual.job, manual.result, manual.schedule], ["manual", undefined, null]);

  const text = await cairn(["status", "--config", t.config]);
  assertEquals(text.code, 0, text.stderr);
  assertMatch(text.stdout, /docs: ok\n {2}last run .*: success/);
  assertMatch(text.stdout, /manual: never\n {2}never ran/);
});

Deno.test("cairn forget --keep-last 1 removes the older snapshots of each group", async () => {
  await using t = await jobSetup(DOCS_JOB);
  for (let i = 0; i < 3; i++) {
    await Deno.writeTextFile(`${t.src}/a.txt`, `version ${i}\n`);
    assertEquals((await cairn(["backup", t.src], { env: t.env })).code, 0);
  }
  const other = await cairn(["backup", `${t.src}/sub`], { env: t.env });
  assertEquals(other.code, 0, other.stderr);
  const before = await t.snapshots();

  const dry = await cairn(["forget", "--keep-last", "1", "--dry-run"], { env: t.env });
  assertEquals(dry.code, 0, dry.stderr);
  assertStringIncludes(dry.stdout, "would remove 2 snapshots (dry run)");
  assertEquals((await t.snapshots()).length, 4);

  const r = await cairn(["forget", "--keep-last", "1", "--json"], { env: t.env });
  assertEquals(r.code, 0, r.stderr);
  const groups = lastJson<
    {
      group: { paths: string[] };
      keep: { id: string; reasons: string[] }[];
      remove: { id: string }[];
    }[]
  >(r);
  const main = groups.find((g) => g.group.paths[0] === t.src)!;
  assertEquals(main.keep.map((k) => [k.id, k.reasons]), [[before[2].id, ["last snapshot"]]]);
  assertEquals(main.remove.map((s) => s.id).sort(), [before[0].id, before[1].id].sort());
  assertEquals((await t.snapshots()).map((s) => s.id), [before[2].id, before[3].id]);

  const pruned = await cairn(["forget", "--keep-last", "1", "--prune"], { env: t.env });
  assertEquals(pruned.code, 0, pruned.stderr);
  assertMatch(pruned.stdout, /removed 0 snapshots\nprune: deleted \d+ pack\(s\)/);
  assertEquals((await t.snapshots()).length, 2);

  const none = await cairn(["forget"], { env: t.env });
  assertEquals(none.code, 2);
  assertStringIncludes(none.stderr, "no --keep-* option given");
});

Deno.test("a job whose source paths are all missing fails and writes no snapshot; agent --once exits 1", async () => {
  await using t = await jobSetup(`
[[job]]
name = "gone"
paths = ["$SRC/nope", "$SRC/neither"]
schedule = "@yearly"
`);
  const once = await cairn(["agent", "--config", t.config, "--once"]);
  assertEquals(once.code, 1, once.stderr);
  assertMatch(once.stderr, /error: job "gone": failed: none of the sources can be read/);
  assertEquals(await t.snapshots(), []);
  const r = await cairn(["run", "--config", t.config, "gone"]);
  assertEquals(r.code, 1, r.stdout + r.stderr);
  assertMatch(r.stdout, /job "gone": failed: none of the sources can be read/);
  assertEquals(await t.snapshots(), []);
});

Deno.test("a job's rerun uses the directory cache its last run wrote, and still rereads a file changed under the same size and mtime", async () => {
  await using t = await jobSetup(DOCS_JOB);
  const cache = `${t.dir}/cache`;
  const run = async () => {
    const r = await cairn(["run", "--config", t.config, "manual"], {
      env: { CAIRN_CACHE_DIR: cache },
    });
    assertEquals(r.code, 0, r.stderr);
  };
  const cacheFiles = async () => {
    const out: string[] = [];
    for await (const d of Deno.readDir(cache)) {
      for await (const f of Deno.readDir(`${cache}/${d.name}`)) {
        if (f.name.startsWith("dirs-")) out.push(f.name);
      }
    }
    return out;
  };
  // A directory is cached only when its entries' ctimes lie before the second its run started.
  await new Promise((r) => setTimeout(r, 1100));
  await run();
  assertEquals((await cacheFiles()).length, 1);
  // Same size, mtime put back: only the ctime says the bytes changed.
  const b = `${t.src}/sub/b.txt`;
  const { mtime } = await Deno.stat(b);
  await Deno.writeTextFile(b, "BRAVO\n");
  await Deno.utime(b, mtime!, mtime!);
  await run();
  const dump = await cairn(["dump", "latest", b], { env: t.env });
  assertEquals([dump.code, dump.stdout], [0, "BRAVO\n"]);
});
