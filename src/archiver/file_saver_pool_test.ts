import { LocalBackend } from "../backend/mod.ts";
import { Repository } from "../repo/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { FileSaverPool, poolInit } from "./file_saver_pool.ts";

const FAST = { kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 } };

async function pool(dir: string, signal?: AbortSignal) {
  const repo = await Repository.init(await LocalBackend.create(`${dir}/repo`), "pw", {
    ...FAST,
    chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 },
  });
  const saved: string[] = [];
  const p = new FileSaverPool(2, poolInit(repo), async (pack, bytes) => {
    await repo.backend.save("data", pack.name, bytes);
    saved.push(...pack.blobs.map((b) => b.id));
  }, { splitFrom: 1024, signal });
  return { p, saved };
}

Deno.test("a split file that cannot be read fails alone; the pool goes on with the next", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-pool-" });
  const { p, saved } = await pool(dir);
  const data = crypto.getRandomValues(new Uint8Array(65536));
  const big = new Uint8Array(3 * 1024 * 1024);
  for (let at = 0; at < big.length; at += data.length) big.set(data, at); // one chunk, repeated
  for (let i = 0; i < big.length; i += 4096) big[i] = i >> 12; // ... made distinct
  await Deno.writeFile(`${dir}/big`, big);
  await Deno.mkdir(`${dir}/dir`);
  const [gone, isDir, ok] = await Promise.all([
    p.save({ path: `${dir}/gone`, size: 1 << 30 }),
    p.save({ path: `${dir}/dir`, size: 1 << 30 }), // opens, then fails to read
    p.save({ path: `${dir}/big`, size: big.length }),
  ]);
  assertEquals(gone.ok, false);
  assertEquals(isDir.ok, false);
  assert(ok.ok, JSON.stringify(ok));
  assertEquals(ok.size, big.length);
  assert(ok.content.length > 10, `${ok.content.length} chunks`);
  await p.finish();
  assertEquals(saved.sort(), [...new Set(ok.content)].sort(), "each of its blobs stored once");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a pool given a signal that has already aborted saves nothing and says why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-pool-" });
  await Deno.writeFile(`${dir}/f`, new Uint8Array(4096).fill(7));
  const ac = new AbortController();
  ac.abort();
  const { p, saved } = await pool(dir, ac.signal);
  const err = await p.save({ path: `${dir}/f`, size: 4096 }).then(() => null, (e) => e);
  assert(err instanceof Error && err.name === "AbortError", String(err));
  await p.close();
  assertEquals(saved, []);
  await Deno.remove(dir, { recursive: true });
});
