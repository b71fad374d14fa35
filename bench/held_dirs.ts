/**
 * What holding directories open costs (src/heldfs): restore and
 * `cairn mirror` of a tree of many small files into fresh directories,
 * rounds alternating between this checkout and another one (an older
 * commit, unpacked with `git archive`), so both see the same machine load.
 *
 *   deno run -A bench/held_dirs.ts [--tree DIR] [--rounds 3] [--compare OTHER_CHECKOUT]
 *
 * Default tree: the Linux 6.1.170 corpus (../shared/corpus/linux-kernel.sh).
 * Prints the median of each figure.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const args = parseArgs({
  options: {
    tree: { type: "string" },
    rounds: { type: "string", default: "3" },
    compare: { type: "string" },
  },
});
const corpus = Deno.env.get("CAIRN_CORPUS") ?? `${Deno.env.get("HOME")}/.cache/cairn-corpus`;
const tree = args.values.tree ?? `${corpus}/linux-6.1.170`;
const rounds = Number(args.values.rounds);
const here = fileURLToPath(new URL("..", import.meta.url));
const checkouts = [here, ...(args.values.compare ? [args.values.compare] : [])];

interface Code {
  name: string;
  // deno-lint-ignore no-explicit-any
  restore: (repo: any, snapshot: any, opts: { target: string }) => Promise<{ errors: unknown[] }>;
  mirrorSnapshot: (
    // deno-lint-ignore no-explicit-any
    repo: any,
    // deno-lint-ignore no-explicit-any
    snapshot: any,
    opts: { path: string; purge: boolean },
  ) => Promise<{ errors: unknown[] }>;
}

const codes: Code[] = [];
for (const dir of checkouts) {
  const { restore } = await import(`file://${dir}/src/restore/mod.ts`);
  const { mirrorSnapshot } = await import(`file://${dir}/src/mirror/mod.ts`);
  codes.push({ name: dir, restore, mirrorSnapshot });
}
const { backup } = await import(`file://${here}/src/archiver/mod.ts`);
const { LocalBackend } = await import(`file://${here}/src/backend/mod.ts`);
const { Repository } = await import(`file://${here}/src/repo/mod.ts`);

const work = await Deno.makeTempDir({ prefix: "cairn-held-bench-" });
try {
  const repo = await Repository.init(await LocalBackend.create(`${work}/repo`), "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  const b = await backup(repo, { paths: [tree], host: "bench" });
  const snapshot = await repo.loadSnapshot(b.id);
  console.log(`tree ${tree}: ${b.stats?.files ?? "?"} files`);
  const times = new Map<string, number[]>();
  const time = async (key: string, step: () => Promise<{ errors: unknown[] }>) => {
    new Deno.Command("sync").outputSync();
    const t = performance.now();
    const r = await step();
    const s = (performance.now() - t) / 1000;
    if (r.errors.length) throw new Error(`${key}: ${r.errors.length} errors`);
    (times.get(key) ?? times.set(key, []).get(key)!).push(s);
  };
  for (let round = 0; round < rounds; round++) {
    for (const [i, code] of codes.entries()) {
      const out = `${work}/out-${round}-${i}`;
      await time(`restore   ${code.name}`, () => code.restore(repo, snapshot, { target: out }));
      await Deno.remove(out, { recursive: true });
      await time(
        `mirror    ${code.name}`,
        () => code.mirrorSnapshot(repo, snapshot, { path: out, purge: true }),
      );
      await Deno.remove(out, { recursive: true });
    }
  }
  for (const [key, v] of times) {
    const sorted = [...v].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(
      `${key}  median ${median.toFixed(2)} s  (${v.map((x) => x.toFixed(2)).join(", ")})`,
    );
  }
} finally {
  await Deno.remove(work, { recursive: true });
}
