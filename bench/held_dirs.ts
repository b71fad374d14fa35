/**
 * What holding directories open costs (src/heldfs): restore and
 * `cairn mirror` of a tree of many small files into fresh directories,
 * rounds alternating between this checkout and another one (an older
 * commit, unpacked with `git archive`), so both see the same machine load.
 *
 *   deno run -A bench/held_dirs.ts [--tree DIR] [--rounds 3] [--compare OTHER_CHECKOUT]
 *
 * Default tree: the Linux 6.1.170 corpus (../shared/corpus/linux-kernel.sh).
 * Each step writes into a fresh ext4 on a loop device (as root with
 * mkfs.ext4): on the long-used root filesystem here the same restore took
 * 12 s in one round and 59 s in the next, which drowned the comparison.
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
    for (const code of codes) {
      let out = `${freshFs(work)}/out`;
      await time(`restore   ${code.name}`, () => code.restore(repo, snapshot, { target: out }));
      out = `${freshFs(work)}/out`;
      await time(
        `mirror    ${code.name}`,
        () => code.mirrorSnapshot(repo, snapshot, { path: out, purge: true }),
      );
    }
  }
  freshFs(work, true);
  for (const [key, v] of times) {
    const sorted = [...v].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    console.log(
      `${key}  median ${median.toFixed(2)} s  (${v.map((x) => x.toFixed(2)).join(", ")})`,
    );
  }
} finally {
  freshFs(work, true);
  await Deno.remove(work, { recursive: true });
}

/** A new, empty ext4 mounted at `work/fs` (unmounting the last one); `work` itself when none can be made. */
function freshFs(work: string, unmountOnly = false): string {
  const dir = `${work}/fs`;
  const image = `${work}/fs.img`;
  const run = (cmd: string, args: string[]) =>
    new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync();
  run("umount", [dir]);
  if (unmountOnly) return dir;
  if (Deno.uid() !== 0 || !run("mkfs.ext4", ["-V"]).success) {
    const plain = `${work}/plain-${crypto.randomUUID()}`;
    Deno.mkdirSync(plain);
    return plain;
  }
  Deno.mkdirSync(dir, { recursive: true });
  run("truncate", ["-s", "0", image]);
  run("truncate", ["-s", "4G", image]);
  if (
    !run("mkfs.ext4", ["-q", "-F", image]).success ||
    !run("mount", ["-o", "loop", image, dir]).success
  ) {
    throw new Error("cannot make a fresh ext4 to write into");
  }
  return dir;
}
