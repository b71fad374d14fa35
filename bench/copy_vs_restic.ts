/**
 * `cairn copy` of the kernel-tree repository against `restic copy` (restic
 * 0.14, Debian's), same machine, same run.
 *
 *   deno run -A bench/copy_vs_restic.ts
 *
 * Each tool backs up Linux 6.1.170 and then 6.1.176 into a source
 * repository (not timed), then copies both snapshots into a destination made
 * with `init --copy-chunker-params --from-repo` (restic's flag of the same
 * name), and copies again with nothing new. Reports wall time and peak
 * memory (GNU time), and the ratios (target: cairn at most 0.5 of restic).
 * A last row copies into a cairn repository of its own chunker secret
 * (re-chunking), which restic has no counterpart of: its blob ids are plain
 * SHA-256. The destination is checked with `check --read-data`.
 *
 * Needs the corpus from ../shared/corpus/linux-kernel.sh (fetched if
 * missing) and restic (installed with apt-get if missing and root).
 */
import {
  cairnCmd as cairn,
  ensureInputs,
  type Measure,
  mib,
  NEW,
  OLD,
  PASSWORD,
  run,
  secs,
  timed as timedIn,
  workDir,
} from "./_common.ts";

const WORK = workDir("cairn-bench-copy");
const timed = (cmd: string[], env: Record<string, string>): Measure => timedIn(WORK, cmd, env);

try {
  Deno.removeSync(WORK, { recursive: true });
} catch (err) {
  if (!(err instanceof Deno.errors.NotFound)) throw err;
}
ensureInputs();
Deno.mkdirSync(WORK, { recursive: true });
const home = Deno.env.get("HOME") ?? "/root";
const cSrc = `${WORK}/cairn-src`;
const rSrc = `${WORK}/restic-src`;
const cDst = `${WORK}/cairn-dst`;
const rDst = `${WORK}/restic-dst`;
const cRe = `${WORK}/cairn-rechunk`;
const cEnv = { CAIRN_PASSWORD: PASSWORD, CAIRN_FROM_PASSWORD: PASSWORD, HOME: home };
const rEnv = { RESTIC_PASSWORD: PASSWORD, RESTIC_FROM_PASSWORD: PASSWORD, HOME: home };

console.error("backing up 6.1.170 and 6.1.176 into each source repository (not timed) ...");
run(cairn(["init", "-r", cSrc]), cEnv);
run(["restic", "init", "-q", "-r", rSrc], rEnv);
for (const tree of [OLD, NEW]) {
  run(cairn(["backup", "-r", cSrc, tree, "--json"]), cEnv);
  run(["restic", "-r", rSrc, "backup", "-q", tree], rEnv);
}
run(cairn(["init", "-r", cDst, "--copy-chunker-params", "--from-repo", cSrc]), cEnv);
run(["restic", "init", "-q", "-r", rDst, "--copy-chunker-params", "--from-repo", rSrc], rEnv);
run(cairn(["init", "-r", cRe]), cEnv);

const rows: [string, Measure, Measure | undefined][] = [];
console.error("copying ...");
const c1 = timed(cairn(["copy", "-r", cDst, "--from-repo", cSrc, "--json"]), cEnv);
const r1 = timed(["restic", "-r", rDst, "copy", "-q", "--from-repo", rSrc], rEnv);
rows.push(["copy 2 snapshots (6.1.170, 6.1.176)", c1, r1]);
const c2 = timed(cairn(["copy", "-r", cDst, "--from-repo", cSrc, "--json"]), cEnv);
const r2 = timed(["restic", "-r", rDst, "copy", "-q", "--from-repo", rSrc], rEnv);
rows.push(["copy again, nothing new", c2, r2]);
const c3 = timed(cairn(["copy", "-r", cRe, "--from-repo", cSrc, "--json"]), cEnv);
rows.push(["cairn only: copy re-chunking (own chunker secret)", c3, undefined]);

console.log(
  "\n| copy of the kernel-tree repository | cairn / restic | cairn | restic | cairn peak | restic peak |",
);
console.log("|---|---|---|---|---|---|");
for (const [name, c, r] of rows) {
  console.log(
    `| ${name} | ${r ? (c.wallS / r.wallS).toFixed(2) : "-"} | ${secs(c.wallS)} | ${
      r ? secs(r.wallS) : "-"
    } | ${mib(c.peakMiB)} | ${r ? mib(r.peakMiB) : "-"} |`,
  );
}
const summary = (m: Measure) => JSON.parse(m.stdout.trim().split("\n").pop()!);
const s1 = summary(c1);
const s3 = summary(c3);
const check = (repo: string) =>
  new Deno.Command(cairn(["check", "--read-data", "-r", repo])[0], {
    args: cairn(["check", "--read-data", "-r", repo]).slice(1),
    env: cEnv,
    stdout: "null",
    stderr: "null",
  }).outputSync().success;
console.log(
  `\ncairn copied ${s1.snapshots_copied} snapshots, ${s1.blobs_copied} blobs, ` +
    `${(s1.bytes_copied / 1048576).toFixed(0)} MiB; re-chunking: ${s3.blobs_copied} blobs, ` +
    `${(s3.bytes_copied / 1048576).toFixed(0)} MiB; second run copied ${
      summary(c2).snapshots_copied
    }. check --read-data of both destinations: ${check(cDst) && check(cRe) ? "clean" : "ERRORS"}`,
);
Deno.removeSync(WORK, { recursive: true });
