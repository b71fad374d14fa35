/**
 * Where a restore's time goes, on the Linux 6.1.170 tree, each step into a
 * fresh ext4 on a loop device (as bench/kernel_vs_restic.ts restores):
 *
 *   deno run -A bench/restore_stages.ts [--rounds N] [--workers 0,1,2]
 *
 * Rows, in each round back to back: restic's restore, `cp -a` of the tree
 * (the limit: the same files created and written, nothing to decrypt or
 * decompress), cairn's restore with each worker count (0 = on the main
 * thread), and a restore in place over the unchanged tree just restored.
 * Every step ends with `sync`: the writes are its cost. Medians of the
 * rounds; each ratio is to restic's time in the same round.
 */
import { parseArgs } from "node:util";
import { LocalBackend } from "../src/backend/mod.ts";
import { Repository } from "../src/repo/mod.ts";
import { restore } from "../src/restore/mod.ts";
import { freshExt4, median, OLD as TREE, PASSWORD, ROOT, sh, workDir } from "./_common.ts";

const WORK = workDir("cairn-bench");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    workers: { type: "string", default: "0,2" },
  },
});
const ROUNDS = Number(values.rounds);
const WORKERS = values.workers!.split(",").map(Number);

const FS = `${WORK}/restore-fs`;
const IMAGE = `${WORK}/restore-fs.img`;

/** A new, empty ext4 mounted at {@link FS}. */
const freshFs = () => freshExt4(FS, IMAGE);

async function timed(step: () => unknown): Promise<number> {
  const t0 = performance.now();
  await step();
  sh("sync", []);
  return (performance.now() - t0) / 1000;
}

Deno.mkdirSync(WORK, { recursive: true });
const cRepo = `${WORK}/stages-cairn-repo`;
const rRepo = `${WORK}/stages-restic-repo`;
const env = { CAIRN_PASSWORD: PASSWORD, RESTIC_PASSWORD: PASSWORD, HOME: Deno.env.get("HOME")! };
try {
  Deno.statSync(`${cRepo}/config`);
} catch {
  const cairn = ["run", "-A", "--quiet", `${ROOT}main.ts`];
  sh(Deno.execPath(), [...cairn, "init", "-r", cRepo], env);
  sh(Deno.execPath(), [...cairn, "backup", "-r", cRepo, TREE], env);
  sh("restic", ["init", "-q", "-r", rRepo], env);
  sh("restic", ["-r", rRepo, "backup", "-q", TREE], env);
}
const repo = await Repository.open(new LocalBackend(cRepo), PASSWORD);
const snapshot = (await repo.listSnapshots()).at(-1)!;

const rows = new Map<string, { s: number; ratio: number }[]>();
let restic = 0;
const add = (name: string, s: number) =>
  rows.set(name, [...(rows.get(name) ?? []), { s, ratio: s / restic }]);
for (let round = 0; round < ROUNDS; round++) {
  let fs = freshFs();
  const into = `${fs}/r`;
  restic = await timed(() =>
    sh("restic", ["-r", rRepo, "restore", "-q", "latest", "--target", into], env)
  );
  add("restic restore", restic);
  fs = freshFs();
  add("cp -a (the limit)", await timed(() => sh("cp", ["-a", TREE, `${fs}/cp`])));
  for (const workers of WORKERS) {
    fs = freshFs();
    const target = `${fs}/c`;
    add(
      `cairn restore, ${workers} workers`,
      await timed(() => restore(repo, snapshot, { target, workers })),
    );
  }
  add(
    "cairn restore --overwrite if-changed over it, unchanged",
    await timed(() =>
      restore(repo, snapshot, {
        target: `${fs}/c`,
        workers: WORKERS.at(-1),
        overwrite: "if-changed",
      })
    ),
  );
}
new Deno.Command("umount", { args: [FS], stderr: "null" }).outputSync();
console.log(`| step | median | median of ratios to restic | rounds |\n|---|---|---|---|`);
for (const [name, xs] of rows) {
  const m = median(xs.map((x) => x.s));
  const ratio = median(xs.map((x) => x.ratio));
  const each = xs.map((x) => x.s.toFixed(2)).join(", ");
  console.log(`| ${name} | ${m.toFixed(2)} s | ${ratio.toFixed(2)} | ${each} |`);
}
