// What a reader's shared lock and a backup's last check cost on a local disk:
// medians of 21 rounds in a fresh repository of one small snapshot.
//
//   deno run --allow-all bench/lock_cost.ts
import { backup } from "../src/archiver/mod.ts";
import { LocalBackend } from "../src/backend/mod.ts";
import { acquireSharedLock, Repository, SnapshotGuard } from "../src/repo/mod.ts";

const dir = await Deno.makeTempDir({ prefix: "cairn-lock-cost-" });
try {
  Deno.mkdirSync(`${dir}/src`);
  for (let i = 0; i < 50; i++) Deno.writeTextFileSync(`${dir}/src/f${i}`, `file ${i}\n`);
  const kdf = { memoryKiB: 8192, iterations: 1, parallelism: 1 };
  const repo = await Repository.init(await LocalBackend.create(`${dir}/repo`), "pw", { kdf });
  const { snapshot } = await backup(repo, { paths: [`${dir}/src`], host: "h", workers: 1 });
  const median = async (round: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t = performance.now();
      await round();
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[10].toFixed(2);
  };
  const lock = await median(async () => {
    const l = await acquireSharedLock(repo, { refreshMs: 0 });
    await repo.refreshIndex();
    await l.release();
  });
  const guard = await median(() => new SnapshotGuard(repo).verify(snapshot.tree));
  console.log(`shared lock + index refresh + release: ${lock} ms (median of 21)`);
  console.log(`backup's last check, nothing changed: ${guard} ms (median of 21)`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
