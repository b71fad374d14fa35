import { join } from "node:path";
import type { LocalBackend } from "../backend/mod.ts";
import { keyedId, toHex } from "../crypto/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { ADOPT_MAX_AGE_MS, adoptPacks } from "./adopt_packs.ts";
import { acquireExclusiveLock, acquireSharedLock } from "./lock.ts";
import type { PackInfo } from "./pack.ts";
import { pruneRepository } from "./prune.ts";
import { Repository } from "./repository.ts";
import { newRepo, randomBytes } from "./_prune_testing.ts";

/** Stores `count` packs of one random blob each and indexes none: what a killed backup leaves. */
async function unindexedPacks(repo: Repository, count: number): Promise<PackInfo[]> {
  const packs: PackInfo[] = [];
  const writer = repo.newPackWriter((p) => void packs.push(p));
  for (let i = 0; i < count; i++) {
    const bytes = randomBytes(70_000);
    writer.add("data", toHex(keyedId(repo.master.id, bytes)), bytes);
    await writer.flush();
  }
  return packs;
}

function packPath(backend: LocalBackend, name: string): string {
  return join(backend.dir, "data", name.slice(0, 2), name);
}

Deno.test("adoptPacks() indexes complete unindexed packs and skips damaged and old ones", async () => {
  const { dir, backend, repo } = await newRepo();
  const [good, damaged, old, good2] = await unindexedPacks(repo, 4);
  const file = packPath(backend, damaged.name);
  const bytes = Deno.readFileSync(file);
  bytes[100] ^= 1; // inside the blob's segment: the trailer still reads
  Deno.writeFileSync(file, bytes);
  const longAgo = new Date(Date.now() - ADOPT_MAX_AGE_MS - 60_000);
  Deno.utimeSync(packPath(backend, old.name), longAgo, longAgo);

  const fresh = await Repository.open(backend, "pw");
  const warnings: string[] = [];
  const r = await adoptPacks(fresh, { now: Date.now(), onWarning: (m) => warnings.push(m) });
  assertEquals(r.packs, 2);
  assertEquals(r.bytes, good.size + good2.size);
  assertEquals(warnings.length, 1, warnings.join("\n"));
  assert(warnings[0].includes(damaged.name), warnings[0]);
  for (const p of [good, good2]) assert(fresh.index.has(p.blobs[0].id), "adopted in memory");

  // Written down: a later run sees them without adopting again.
  const later = await Repository.open(backend, "pw");
  assert(later.index.has(good.blobs[0].id) && later.index.has(good2.blobs[0].id));
  assert(!later.index.has(damaged.blobs[0].id) && !later.index.has(old.blobs[0].id));
  assertEquals((await adoptPacks(later, { now: Date.now() })).packs, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("adoptPacks() adopts nothing while a prune holds the exclusive lock", async () => {
  const { dir, backend, repo } = await newRepo();
  await unindexedPacks(repo, 2);
  const prune = await acquireExclusiveLock(repo);
  const fresh = await Repository.open(backend, "pw");
  const r = await adoptPacks(fresh, { now: Date.now() });
  assertEquals(r.packs, 0);
  assert(r.skipped?.includes("exclusive lock"), r.skipped);
  await prune.release();
  assertEquals((await adoptPacks(fresh, { now: Date.now() })).packs, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("prune keeps young unindexed packs while a shared lock is live, even with grace 0", async () => {
  const { dir, backend, repo } = await newRepo();
  const packs = await unindexedPacks(repo, 2);
  const backupLock = await acquireSharedLock(repo);
  // Written before the lock, as a killed run's packs are: the old rule deleted them.
  const before = new Date(backupLock.info.time - 10 * 60_000);
  for (const p of packs) Deno.utimeSync(packPath(backend, p.name), before, before);
  const kept = await pruneRepository(repo, { graceMs: 0 });
  assertEquals(kept.unindexedPacksDeleted, 0);
  for (const p of packs) Deno.statSync(packPath(backend, p.name));
  await backupLock.release();
  const gone = await pruneRepository(repo, { graceMs: 0 });
  assertEquals(gone.unindexedPacksDeleted, 2, "with no backup running they go");
  await Deno.remove(dir, { recursive: true });
});
