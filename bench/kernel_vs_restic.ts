/**
 * Side-by-side benchmark on the Linux 6.1 source tree: cairn against
 * restic 0.14 (Debian's), same tree, same machine, same run, warm page cache.
 *
 *   deno run -A bench/kernel_vs_restic.ts [--repeat N] [--scale | --scale-only | --mirror-only]
 *
 * Measures a first backup into an empty repository, a second one with
 * nothing changed, and an update to 6.1.176, then a restore of the latest
 * snapshot into a fresh ext4 beside `cp -a` of the tree (the limit) and a
 * restore in place over the unchanged tree just restored (its ratio is to
 * cairn's full restore); reports wall time, peak memory (GNU time) and
 * repository size, and the ratios. `--scale` adds the memory
 * checks: one 4 GiB file, and trees of 100,000, 400,000 and a million small
 * files (written once and kept in the bench directory).
 * After the kernel table it prints the limits measured in the same run:
 * reading the tree with tar, and each backup stage's throughput on one core
 * times the cores (bench/stages.ts).
 * `--repeat N` runs the kernel and mirror sections N times from scratch and
 * reports each round and the median of each figure: this machine's speed
 * drifts by 20% and more between runs, so one round proves little.
 *
 * Needs the corpus from ../shared/corpus/linux-kernel.sh (fetched if
 * missing) and restic (installed with apt-get if missing and root).
 */
import {
  cairnCmd,
  ensureInputs,
  freshExt4,
  have,
  type Measure,
  median,
  mib,
  NEW,
  OLD,
  PASSWORD,
  removeIfThere,
  secs,
  sh,
  timed as timedIn,
  workDir,
} from "./_common.ts";
import { measureStages } from "./stages.ts";
import { lstatOrNull } from "../src/fs/mod.ts";

const WORK = workDir("cairn-bench");
/** A backup with unreadable files (exit 3) still counts. */
const timed = (cmd: string[], env: Record<string, string>): Measure =>
  timedIn(WORK, cmd, env, [0, 3]);

function duBytes(dir: string): number {
  return Number(sh("du", ["-sb", dir]).split(/\s+/)[0]);
}

/**
 * Flushes dirty pages (a fresh copy of the tree would otherwise be written
 * back during the first timed run) and reads every file once, so each run
 * starts from a quiet disk and a warm page cache.
 */
function warm(dir: string) {
  sh("sync", []);
  sh("sh", ["-c", `tar -cf - "${dir}" | cat > /dev/null`]);
}

/** Rounds of one table: per row name, the figures of each round. */
class Rounds {
  readonly #rows = new Map<string, number[][]>();

  add(name: string, figures: number[]): void {
    const all = this.#rows.get(name) ?? [];
    all.push(figures);
    this.#rows.set(name, all);
  }

  /** One line per row: the median of each column, and (several rounds) each round's value of the first. */
  print(header: string[], format: ((v: number) => string)[], extra?: (name: string) => string) {
    console.log(`\n| ${header.join(" | ")} |`);
    console.log(`|${header.map(() => "---").join("|")}|`);
    for (const [name, rounds] of this.#rows) {
      const cols = format.map((f, i) => f(median(rounds.map((r) => r[i]))));
      const each = rounds.length > 1
        ? ` (rounds: ${rounds.map((r) => format[0](r[0])).join(", ")})`
        : "";
      console.log(`| ${name}${each} | ${cols.join(" | ")} |${extra ? ` ${extra(name)} |` : ""}`);
    }
  }
}

const ratio = (v: number) => v.toFixed(2);

function kernelRow(rounds: Rounds, name: string, c: Measure, r: Measure) {
  rounds.add(name, [c.wallS / r.wallS, c.wallS, r.wallS, c.peakMiB, r.peakMiB]);
}

function runKernel(rounds: Rounds, notes: string[]) {
  const cRepo = `${WORK}/cairn-repo`;
  const rRepo = `${WORK}/restic-repo`;
  const src = `${WORK}/linux`;
  for (const d of [cRepo, rRepo, src]) removeIfThere(d);
  // Back up a copy at a fixed path, so the update step can swap versions in place.
  sh("cp", ["-a", OLD, src]);
  warm(src);
  const cEnv = { CAIRN_PASSWORD: PASSWORD, HOME: Deno.env.get("HOME") ?? "/root" };
  const rEnv = { RESTIC_PASSWORD: PASSWORD, HOME: Deno.env.get("HOME") ?? "/root" };
  sh(cairnCmd(["init", "-r", cRepo])[0], cairnCmd(["init", "-r", cRepo]).slice(1), cEnv);
  sh("restic", ["init", "-q", "-r", rRepo], rEnv);

  const c1 = timed(cairnCmd(["backup", "-r", cRepo, src, "--json"]), cEnv);
  const r1 = timed(["restic", "-r", rRepo, "backup", "-q", src], rEnv);
  kernelRow(rounds, "first backup (6.1.170)", c1, r1);
  const cSize1 = duBytes(cRepo);
  const rSize1 = duBytes(rRepo);

  const c2 = timed(cairnCmd(["backup", "-r", cRepo, src, "--json"]), cEnv);
  const r2 = timed(["restic", "-r", rRepo, "backup", "-q", src], rEnv);
  kernelRow(rounds, "second backup, nothing changed", c2, r2);

  // Update the tree in place to 6.1.176, as an admin's upgrade would.
  sh("rsync", ["-a", "--delete", `${NEW}/`, `${src}/`]);
  warm(src);
  const c3 = timed(cairnCmd(["backup", "-r", cRepo, src, "--json"]), cEnv);
  const r3 = timed(["restic", "-r", rRepo, "backup", "-q", src], rEnv);
  kernelRow(rounds, "update to 6.1.176", c3, r3);

  // Restore the latest snapshot with each, and check cairn's copy byte for byte. Into a fresh
  // filesystem, like the mirrors: file creation on the long-used root filesystem here swings
  // from 14 s to 65 s for one restore of this tree, minutes apart, whichever tool runs.
  const fresh = freshTargetFs();
  const cOut = `${fresh}/restore-cairn`;
  const rOut = `${fresh}/restore-restic`;
  for (const d of [cOut, rOut]) removeIfThere(d);
  const c4 = timed(cairnCmd(["restore", "-r", cRepo, "latest", "--target", cOut]), cEnv);
  const r4 = timed(["restic", "-r", rRepo, "restore", "-q", "latest", "--target", rOut], rEnv);
  kernelRow(rounds, "restore latest (6.1.176)", c4, r4);
  // The limit for both: the same files created and written by cp -a, nothing to decrypt.
  const cpOut = `${fresh}/cp-a`;
  removeIfThere(cpOut);
  const cp = timed(["cp", "-a", src, cpOut], {});
  kernelRow(rounds, "cp -a of the tree (the limit; ratio cp/restic)", cp, r4);
  // Restore again over the tree just restored, which is unchanged: only stat and compare.
  const c5 = timed(
    cairnCmd(["restore", "-r", cRepo, "latest", "--target", cOut, "--overwrite", "if-changed"]),
    cEnv,
  );
  rounds.add("restore in place, unchanged (--overwrite if-changed; ratio to cairn's restore)", [
    c5.wallS / c4.wallS,
    c5.wallS,
    c4.wallS,
    c5.peakMiB,
    c4.peakMiB,
  ]);
  const same = new Deno.Command("diff", { args: ["-r", "-q", src, `${cOut}${src}`] }).outputSync();
  for (const d of [cOut, rOut, cpOut]) removeIfThere(d);
  if (fresh !== WORK) sh("umount", [fresh]);

  const size = (n: number) => `${(n / 1048576).toFixed(0)} MiB`;
  notes.push(
    `repository after first backup: cairn ${size(cSize1)}, restic ${size(rSize1)}; ` +
      `after all three: cairn ${size(duBytes(cRepo))}, restic ${size(duBytes(rRepo))}; ` +
      `cairn's restore equals the source: ${same.success ? "yes" : "NO"}`,
  );
  notes.push(
    "cairn summaries:\n" + [c1, c2, c3].map((m) => "  " + m.stdout.trim().split("\n").at(-1))
      .join("\n"),
  );
}

function printKernel(rounds: Rounds, notes: string[]) {
  rounds.print(
    ["run", "cairn/restic", "cairn", "restic", "cairn peak", "restic peak"],
    [ratio, secs, secs, mib, mib],
  );
  for (const n of notes) console.log(n);
}

/**
 * The limits the kernel figures are bounded by, measured once in the same
 * run (issue 16): reading the tree (`tar cf - TREE | cat`, warm cache) and
 * each stage of a first backup on one core, times the cores (bench/stages.ts).
 */
async function printLimits() {
  sh("sync", []);
  const t0 = performance.now();
  sh("sh", ["-c", `tar -cf - "${OLD}" | cat > /dev/null`]);
  const s = (performance.now() - t0) / 1000;
  console.log(
    `\nlimits in this run: reading the tree (tar cf - | cat, warm): ${s.toFixed(2)} s, ` +
      `${(duBytes(OLD) / 1e6 / s).toFixed(0)} MB/s`,
  );
  for (const line of await measureStages(OLD, 256 * 2 ** 20)) console.log(line);
}

/** Peak memory for one huge file and for many small ones (`--scale`). */
function runScale() {
  const repo = `${WORK}/scale-repo`;
  const env = { CAIRN_PASSWORD: PASSWORD, HOME: Deno.env.get("HOME") ?? "/root" };
  const big = `${WORK}/big`;
  removeIfThere(repo);
  removeIfThere(big);
  Deno.mkdirSync(big, { recursive: true });
  // 4 GiB of non-repeating data, written once (random bytes would not dedup, like a real disk image).
  sh("sh", ["-c", `head -c 4294967296 /dev/urandom > ${big}/disk.img`]);
  sh(cairnCmd(["init", "-r", repo])[0], cairnCmd(["init", "-r", repo]).slice(1), env);
  const b = timed(cairnCmd(["backup", "-r", repo, big, "--json"]), env);
  console.log(`\n4 GiB file: ${b.wallS.toFixed(1)} s, peak ${b.peakMiB.toFixed(0)} MiB`);
  removeIfThere(big);

  for (const n of [100_000, 400_000, 1_000_000]) {
    // Generated once and kept in the bench directory (a million files take
    // minutes to write): a marker says the tree is whole.
    const tree = `${WORK}/many-${n}`;
    const done = `${WORK}/many-${n}.complete`;
    removeIfThere(repo);
    if (lstatOrNull(done) === null) {
      removeIfThere(tree);
      sh("python3", [
        "-c",
        `import os\nfor i in range(${n}):\n d=os.path.join('${tree}',str(i//1000))\n` +
        ` os.makedirs(d,exist_ok=True)\n open(os.path.join(d,str(i)),'w').write('file %d\\n'%i)`,
      ]);
      Deno.writeTextFileSync(done, "");
    }
    sh(cairnCmd(["init", "-r", repo])[0], cairnCmd(["init", "-r", repo]).slice(1), env);
    const m = timed(cairnCmd(["backup", "-r", repo, tree, "--json"]), env);
    const target = n === 1_000_000 ? " (target: at most 300 MiB, issue 16)" : "";
    console.log(
      `${n} small files: ${m.wallS.toFixed(1)} s, peak ${m.peakMiB.toFixed(0)} MiB${target}`,
    );
  }
  removeIfThere(repo);
}

/**
 * The mirror section: what a mirror costs on top of a backup (one read of
 * each file feeds both) against `rsync -a --delete` doing the same copy on
 * its own, for a first run into an empty directory, an unchanged rerun and
 * the update to 6.1.176. Separate repositories for backup alone and backup +
 * mirror, so each step compares like with like.
 */
export function runMirror(rounds: Rounds, notes: string[]) {
  const src = `${WORK}/mirror-src`;
  const repoA = `${WORK}/mirror-repo-alone`;
  const repoM = `${WORK}/mirror-repo-mirrored`;
  const target = freshTargetFs();
  const cm = `${target}/mirror-cairn`;
  const rm = `${target}/mirror-rsync`;
  const rebuilt = `${target}/mirror-rebuilt`;
  for (const d of [src, repoA, repoM, cm, rm, rebuilt]) removeIfThere(d);
  sh("cp", ["-a", OLD, src]);
  warm(src);
  const env = { CAIRN_PASSWORD: PASSWORD, HOME: Deno.env.get("HOME") ?? "/root" };
  for (const r of [repoA, repoM]) {
    sh(cairnCmd(["init", "-r", r])[0], cairnCmd(["init", "-r", r]).slice(1), env);
  }
  const alone = () => timed(cairnCmd(["backup", "-r", repoA, src, "--json"]), env);
  const mirrored = () =>
    timed(cairnCmd(["backup", "-r", repoM, src, "--mirror", cm, "--json"]), env);
  const writtenBy = new Map<string, string>();
  const rsync = () => timed(["rsync", "-a", "--delete", "--stats", `${src}/`, `${rm}/`], {});
  const written = (m: Measure) => {
    const j = JSON.parse(m.stdout.trim().split("\n").at(-1)!);
    const s = j.mirror;
    return `${s.written} written, ${s.retimed} retimed, ${s.removed} removed, ${s.unchanged} unchanged`;
  };
  const transferred = (m: Measure) =>
    m.stdout.match(/Number of regular files transferred: ([\d,]+)/)?.[1] ?? "?";
  // Each run starts with no dirty pages of the previous one still being written back.
  const flushed = <T>(run: () => T): T => (sh("sync", []), run());
  const step = (name: string) => {
    const a = flushed(alone);
    const m = flushed(mirrored);
    const r = flushed(rsync);
    const part = m.wallS - a.wallS;
    rounds.add(name, [
      m.wallS / (a.wallS + r.wallS),
      part / r.wallS,
      a.wallS,
      m.wallS,
      part,
      r.wallS,
    ]);
    writtenBy.set(name, `${written(m)}; rsync ${transferred(r)} files`);
  };
  step("first run, empty mirror (6.1.170)");
  step("rerun, nothing changed");
  sh("rsync", ["-a", "--delete", `${NEW}/`, `${src}/`]);
  warm(src);
  step("update to 6.1.176");
  const rebuild = timed(
    cairnCmd(["mirror", "-r", repoM, "latest", rebuilt, "--purge", "--json"]),
    env,
  );
  const diff = new Deno.Command("diff", { args: ["-r", "-q", "-x", ".cairn-mirror.json", src, cm] })
    .outputSync();

  notes.push(
    `cairn mirror latest DIR (rebuild from the repository): ${rebuild.wallS.toFixed(2)} s, ` +
      `peak ${rebuild.peakMiB.toFixed(0)} MiB; mirror equals source: ${
        diff.success ? "yes" : "NO"
      }`,
  );
  for (const d of [repoA, repoM, cm, rm, rebuilt, src]) removeIfThere(d);
  if (target !== WORK) sh("umount", [target]);
  notes.push(
    "files written (last round): " + [...writtenBy].map(([k, v]) => `${k}: ${v}`).join("; "),
  );
}

function printMirror(rounds: Rounds, notes: string[]) {
  rounds.print(
    [
      "mirror run",
      "(backup + mirror) / (backup + rsync)",
      "mirror part / rsync",
      "cairn backup",
      "cairn backup + mirror",
      "mirror part",
      "rsync -a --delete",
    ],
    [ratio, ratio, secs, secs, secs, secs],
  );
  for (const n of notes) console.log(n);
}

/**
 * Where the mirrors go: a freshly made ext4 filesystem on a loop device when
 * we are root and can make one (as a mirror disk would be), else WORK. File
 * creation on the long-used root filesystem here measured up to 9x slower
 * than on a fresh one (rsync of the tree: 59 s against 6.7 s), for rsync and
 * cairn alike, which drowned what the comparison is about.
 */
function freshTargetFs(): string {
  const dir = `${WORK}/mirror-fs`;
  const image = `${WORK}/mirror-fs.img`;
  if (Deno.uid() !== 0 || !have("mkfs.ext4")) return WORK;
  try {
    freshExt4(dir, image);
    console.log(`\n(writing to a fresh ext4 filesystem at ${dir})`);
    return dir;
  } catch (err) {
    console.log(
      `\n(no fresh filesystem to write to: ${(err as Error).message.split("\n")[0]})`,
    );
    return WORK;
  }
}

if (import.meta.main) {
  Deno.mkdirSync(WORK, { recursive: true });
  ensureInputs();
  const at = Deno.args.indexOf("--repeat");
  const repeat = at === -1 ? 1 : Number(Deno.args[at + 1]);
  if (!Number.isInteger(repeat) || repeat < 1) throw new TypeError("--repeat takes a whole number");
  const only = (section: string) =>
    !Deno.args.some((a) => a.endsWith("-only") && a !== `--${section}-only`);
  if (only("kernel")) {
    const rounds = new Rounds();
    const notes: string[] = [];
    for (let i = 0; i < repeat; i++) runKernel(rounds, notes);
    printKernel(rounds, notes);
    await printLimits();
  }
  if (Deno.args.includes("--scale") || Deno.args.includes("--scale-only")) runScale();
  if (only("mirror")) {
    const rounds = new Rounds();
    const notes: string[] = [];
    for (let i = 0; i < repeat; i++) runMirror(rounds, notes);
    printMirror(rounds, notes);
  }
}
