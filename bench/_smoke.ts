import { LocalBackend } from "../src/backend/mod.ts";
import { Repository } from "../src/repo/mod.ts";
import { backup } from "../src/archiver/mod.ts";
const [repoDir, src] = Deno.args;
let repo: Repository;
try {
  repo = await Repository.open(new LocalBackend(repoDir), "pw");
} catch {
  const b = await LocalBackend.create(repoDir);
  repo = await Repository.init(b, "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
}
const snaps = await repo.listSnapshots();
const t = performance.now();
const r = await backup(repo, { paths: [src], host: "h", parent: snaps.at(-1) });
console.log(
  ((performance.now() - t) / 1000).toFixed(2),
  "s",
  r.id,
  JSON.stringify(r.summary),
  r.errors.slice(0, 3),
);
