/**
 * A backup that a full disk stops, or that is killed outright, leaves a
 * repository `check` accepts, no lock, and a rerun that completes and
 * reuses what was indexed. Faults are injected with the CAIRN_TEST_*
 * variables of src/cli/_test_faults.ts, which act on the repository's
 * backend and so reach the packs the worker threads seal.
 */
import { assert, assertEquals, assertMatch } from "../src/testing/asserts.ts";
import { cairn, cairnCommand, lastJson, makeRepo } from "./_launcher.ts";

const MiB = 1024 * 1024;

/** Random (incompressible) files: `count` of `size` bytes, in a new folder. */
async function randomTree(count: number, size: number): Promise<string> {
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  await Deno.mkdir(`${src}/sub`);
  for (let i = 0; i < count; i++) {
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
    await Deno.writeFile(`${src}/${i % 2 ? "sub/" : ""}file${i}`, bytes);
  }
  await Deno.writeTextFile(`${src}/small.txt`, "a small file\n");
  return src;
}

function lockFiles(dir: string): string[] {
  return Array.from(Deno.readDirSync(`${dir}/repo/locks`), (e) => e.name);
}

function dataBytes(dir: string): number {
  let bytes = 0;
  for (const d of Deno.readDirSync(`${dir}/repo/data`)) {
    for (const f of Deno.readDirSync(`${dir}/repo/data/${d.name}`)) {
      bytes += Deno.statSync(`${dir}/repo/data/${d.name}/${f.name}`).size;
    }
  }
  return bytes;
}

function packCount(dir: string): number {
  let n = 0;
  for (const d of Deno.readDirSync(`${dir}/repo/data`)) {
    const names = Array.from(Deno.readDirSync(`${dir}/repo/data/${d.name}`), (e) => e.name);
    n += names.filter((f) => /^[0-9a-f]{64}$/.test(f)).length;
  }
  return n;
}

/** Restores the latest snapshot and compares it with the source, file by file. */
async function assertRestores(dir: string, env: Record<string, string>, src: string) {
  const out = `${dir}/out`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const r = await cairn(["restore", "latest", "--target", out], { env });
  assertEquals(r.code, 0, r.stderr);
  const diff = await new Deno.Command("diff", { args: ["-r", src, `${out}${src}`] }).output();
  assertEquals(diff.code, 0, new TextDecoder().decode(diff.stdout));
}

/** Runs a backup that stalls once `saves` packs are stored, and kills it with `signal` there. */
async function killedBackup(
  env: Record<string, string>,
  src: string,
  saves: number,
  signal: Deno.Signal = "SIGKILL",
): Promise<{ status: Deno.CommandStatus; stderr: string }> {
  const child = cairnCommand(["backup", src], {
    env: { ...env, CAIRN_TEST_STALL_AFTER_DATA_SAVES: String(saves) },
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("cairn-test: saves stalled")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  child.kill(signal);
  const status = await child.status;
  for (let r = await reader.read(); !r.done; r = await reader.read()) seen += r.value;
  await child.stdout.cancel();
  assert(seen.includes("cairn-test: saves stalled"), `the backup never stalled: ${seen}`);
  if (signal === "SIGKILL") assertEquals(status.signal, "SIGKILL", "killed, not finished");
  return { status, stderr: seen };
}

Deno.test("a backup on a full disk exits 1 with one line, leaves no lock, and a rerun completes", async () => {
  const { dir, env } = await makeRepo();
  const src = await randomTree(6, 2 * MiB);
  const full = await cairn(["backup", src], {
    env: { ...env, CAIRN_TEST_FAIL_DATA_SAVES_AFTER: "1" },
  });
  assertEquals(full.code, 1, full.stderr);
  const lines = full.stderr.trim().split("\n");
  assertEquals(lines.length, 1, full.stderr);
  assertMatch(
    lines[0],
    /^cairn backup: Cannot save data file [0-9a-f]{64}: No space left on device/,
  );
  assertEquals(lockFiles(dir), [], "the lock is released");
  const check = await cairn(["check"], { env });
  assertEquals(check.code, 0, check.stdout);

  const rerun = await cairn(["backup", src], { env });
  assertEquals(rerun.code, 0, rerun.stderr);
  const read = await cairn(["check", "--read-data"], { env });
  assertEquals(read.code, 0, read.stdout);
  await assertRestores(dir, env, src);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("backups killed with SIGKILL leave a repository check accepts; the rerun reuses what was indexed", async () => {
  const { dir, env } = await makeRepo();
  // About nine 4 MiB packs: the first index file comes after four of them.
  const src = await randomTree(9, 4 * MiB);
  const total = 9 * 4 * MiB;

  await killedBackup(env, src, 7);
  let check = await cairn(["check", "--json"], { env });
  assertEquals(check.code, 0, check.stdout);
  const afterFirst = lastJson<{ stats: { packs: number } }>(check).stats;
  assert(afterFirst.packs >= 4, `${afterFirst.packs} packs indexed before the kill`);

  // Killed again early in the rerun, before it indexed anything of its own.
  await killedBackup(env, src, 1);
  check = await cairn(["check"], { env });
  assertEquals(check.code, 0, check.stdout);

  const killedLocks = lockFiles(dir);
  assertEquals(killedLocks.length, 2, "a killed run cannot remove its lock: it goes stale");
  const rerun = await cairn(["backup", src, "--json"], { env });
  assertEquals(rerun.code, 0, rerun.stderr);
  const summary = lastJson<{ bytes_added: number }>(rerun);
  assert(
    summary.bytes_added <= total - 4 * 4 * MiB + MiB,
    `the rerun stored ${summary.bytes_added} bytes: what was indexed is reused`,
  );
  // What the kills wasted is bounded: the packs after the last index file of each.
  const stored = dataBytes(dir);
  assert(stored <= total + 6 * 4.5 * MiB, `${stored} bytes of packs for ${total} of data`);

  const read = await cairn(["check", "--read-data"], { env });
  assertEquals(read.code, 0, read.stdout);
  await assertRestores(dir, env, src);
  assertEquals(lockFiles(dir), killedLocks, "the last run released its own lock");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("killed before it wrote any index file, a first backup's reruns reuse its packs and converge", async () => {
  const { dir, env } = await makeRepo();
  const src = await randomTree(9, 4 * MiB);
  const total = 9 * 4 * MiB;
  // Each run is killed after three packs, before the policy's first index file (four packs).
  await killedBackup(env, src, 3);
  await killedBackup(env, src, 3);
  const check = await cairn(["check", "--json"], { env });
  assertEquals(check.code, 0, check.stdout);
  const indexed = lastJson<{ stats: { packs: number } }>(check).stats.packs;
  // The second run indexed the first run's packs (saves already under way when the
  // stall began land too, so each run may store a few more than three).
  assert(indexed >= 3, `${indexed} packs indexed: the first run's are adopted`);
  const before = dataBytes(dir);
  const onDisk = packCount(dir);

  const rerun = await cairn(["backup", src, "--json"], { env });
  assertEquals(rerun.code, 0, rerun.stderr);
  const summary = lastJson<{ bytes_added: number; packs_adopted: number }>(rerun);
  assertEquals(summary.packs_adopted, onDisk - indexed, "every unindexed pack is reused");
  assert(
    summary.bytes_added <= total - before + MiB,
    `the rerun stored ${summary.bytes_added} bytes; ${before} were stored before`,
  );
  const stored = dataBytes(dir);
  assert(stored <= total + 2 * MiB, `${stored} bytes of packs for ${total} of data: nothing twice`);
  const read = await cairn(["check", "--read-data"], { env });
  assertEquals(read.code, 0, read.stdout);
  await assertRestores(dir, env, src);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("an interrupted backup exits 130, indexes every pack it stored, and removes its lock", async () => {
  const { dir, env } = await makeRepo();
  const src = await randomTree(6, 2 * MiB);
  const { status, stderr } = await killedBackup(env, src, 1, "SIGINT");
  assertEquals(status.code, 130, stderr);
  assertEquals(stderr.trim().split("\n"), [
    "cairn-test: saves stalled",
    "cairn backup: interrupted",
  ]);
  assertEquals(lockFiles(dir), [], "the lock is released");
  const check = await cairn(["check", "--json"], { env });
  assertEquals(check.code, 0, check.stdout);
  const stats = lastJson<{ stats: { packs: number; unindexed_packs: number } }>(check).stats;
  assert(stats.packs >= 1, "the pack stored before the interrupt is indexed");
  assertEquals(stats.unindexed_packs, 0, "and no pack is left out of the index");

  const rerun = await cairn(["backup", src, "--json"], { env });
  assertEquals(rerun.code, 0, rerun.stderr);
  const summary = lastJson<{ bytes_added: number }>(rerun);
  assert(summary.bytes_added < 12 * MiB - 3 * MiB, `the rerun stored ${summary.bytes_added} bytes`);
  await assertRestores(dir, env, src);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});
