import { join } from "node:path";
import { backup } from "../archiver/mod.ts";
import { type Backend, FaultBackend, InjectedFault, LocalBackend } from "../backend/mod.ts";
import { keyedId, toHex } from "../crypto/mod.ts";
import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";
import { listLocks, removeStaleLocks } from "./lock.ts";
import { type PruneRepo, pruneRepository } from "./prune.ts";
import { Repository } from "./repository.ts";
import { saveIndexFile } from "./index.ts";
import type { PackInfo } from "./pack.ts";
import { loadIndexState } from "./_prune_index.ts";
import {
  agePacks,
  copyTree,
  listAll,
  newRepo,
  randomBytes,
  restoreFiles,
  verifyRepository,
  writeTree,
} from "./_prune_testing.ts";

const HOUR = 3600_000;

/**
 * Three snapshots, then the first is forgotten: S1 = A (a0..a5, one pack of
 * six blobs), S2 = B (b0..b2 plus copies of a0 and a1), S3 = C. Afterwards
 * a2..a5 and S1's trees are unreferenced, and A's pack is a third used.
 */
async function scenario() {
  const { dir, backend, repo } = await newRepo();
  const a: Record<string, Uint8Array> = {};
  for (let i = 0; i < 6; i++) a[`a${i}`] = randomBytes(10_000);
  const b = { b0: randomBytes(10_000), b1: randomBytes(10_000), b2: randomBytes(10_000) };
  const A = writeTree(dir, "A", a);
  const B = writeTree(dir, "B", { ...b, a0: a.a0, a1: a.a1 });
  const C = writeTree(dir, "C", { c0: randomBytes(100_000) });
  const s1 = await backup(repo, { paths: [A], host: "h", workers: 1 });
  await backup(repo, { paths: [B], host: "h", workers: 1 });
  await backup(repo, { paths: [C], host: "h", workers: 1 });
  const ids = Object.fromEntries(
    Object.entries(a).map(([k, v]) => [k, toHex(keyedId(repo.master.id, v))]),
  );
  return { dir, backend, repo, a, ids, forgetS1: () => backend.remove("snapshots", s1.id) };
}

async function indexedIds(backend: Backend): Promise<Set<string>> {
  const repo = await Repository.open(backend, "pw");
  return new Set([...repo.index.entries()].map(([id]) => id));
}

Deno.test("pruneRepository() removes unreferenced blobs, repacks and keeps snapshots whole", async () => {
  const s = await scenario();
  await s.forgetS1();
  const packsBefore = (await listAll(s.backend)).filter((f) => f.startsWith("data/")).length;
  const stats = await pruneRepository(await Repository.open(s.backend, "pw"), { graceMs: 0 });
  assertEquals(stats.snapshots, 2);
  assertEquals(stats.packsRepacked, 1);
  assert(stats.packsDeleted >= 2, `deleted ${stats.packsDeleted} packs`);
  assert(stats.blobsRemoved >= 4, `removed ${stats.blobsRemoved} blobs`);
  assert(stats.bytesFreed > 40_000);
  assertEquals(stats.packsPending, 0);
  assertEquals(stats.indexFilesWritten, 1);
  const ids = await indexedIds(s.backend);
  for (const k of ["a2", "a3", "a4", "a5"]) assert(!ids.has(s.ids[k]), `${k} still indexed`);
  for (const k of ["a0", "a1"]) assert(ids.has(s.ids[k]), `${k} lost`);
  const files = await listAll(s.backend);
  assertEquals(files.filter((f) => f.startsWith("index/")).length, 1);
  assertEquals(files.filter((f) => f.startsWith("locks/")), []);
  assert(files.filter((f) => f.startsWith("data/")).length < packsBefore);
  assertEquals(await verifyRepository(s.backend.dir), 2);

  const again = await pruneRepository(await Repository.open(s.backend, "pw"), { graceMs: 0 });
  assertEquals([again.packsDropped, again.packsDeleted, again.indexFilesWritten], [0, 0, 0]);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("pruneRepository() needs only a PruneRepo: storage, keys, config, snapshots, a pack writer", async () => {
  const s = await scenario();
  await s.forgetS1();
  const repo = await Repository.open(s.backend, "pw");
  const narrow: PruneRepo = {
    backend: repo.backend,
    master: { enc: repo.master.enc, id: repo.master.id },
    config: { object_lock: repo.config.object_lock },
    listSnapshots: (o) => repo.listSnapshots(o),
    newPackWriter: (onPack) => repo.newPackWriter(onPack),
  };
  const stats = await pruneRepository(narrow, { graceMs: 0 });
  assertEquals([stats.snapshots, stats.packsRepacked], [2, 1]);
  assert(stats.blobsRemoved >= 4, `removed ${stats.blobsRemoved} blobs`);
  const ids = await indexedIds(s.backend);
  for (const k of ["a2", "a3", "a4", "a5"]) assert(!ids.has(s.ids[k]), `${k} still indexed`);
  assertEquals(await verifyRepository(s.backend.dir), 2);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("pruneRepository() with dryRun changes nothing but reports the plan", async () => {
  const s = await scenario();
  await s.forgetS1();
  const before = await listAll(s.backend);
  const stats = await pruneRepository(await Repository.open(s.backend, "pw"), {
    graceMs: 0,
    dryRun: true,
  });
  assertEquals(await listAll(s.backend), before);
  assert(stats.dryRun && stats.packsRepacked === 1 && stats.packsDeleted >= 2);
  assert(stats.bytesFreed > 40_000);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("pruneRepository() leaves packs younger than the grace period alone", async () => {
  const s = await scenario();
  await s.forgetS1();
  // A crashed backup's pack: written, never indexed.
  const writer = s.repo.newPackWriter(() => {});
  writer.add("data", "ab".repeat(32), randomBytes(1000));
  await writer.flush();
  const fresh = await pruneRepository(await Repository.open(s.backend, "pw"));
  assertEquals([fresh.packsDropped, fresh.packsRepacked, fresh.packsDeleted], [0, 0, 0]);

  // Two hours on, the packs are old: phase 1 drops them from the index only.
  await agePacks(s.backend, 2 * HOUR);
  const t = Date.now();
  const p1 = await pruneRepository(await Repository.open(s.backend, "pw"), { now: () => t });
  assertEquals(p1.unindexedPacksDeleted, 1);
  assertEquals(p1.packsDeleted, 1);
  assert(p1.packsDropped >= 2 && p1.packsPending === p1.packsDropped);
  assertEquals(await verifyRepository(s.backend.dir), 2);
  // Not yet due half an hour later; due after the grace period.
  const p2 = await pruneRepository(await Repository.open(s.backend, "pw"), {
    now: () => t + HOUR / 2,
  });
  assertEquals([p2.packsDeleted, p2.packsPending], [0, p1.packsPending]);
  const p3 = await pruneRepository(await Repository.open(s.backend, "pw"), {
    now: () => t + HOUR + 1,
  });
  assertEquals([p3.packsDeleted, p3.packsPending, p3.packsReindexed], [p1.packsPending, 0, 0]);
  assertEquals(await verifyRepository(s.backend.dir), 2);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("pruneRepository() keeps one copy of a blob stored twice", async () => {
  const { dir, backend, repo } = await newRepo();
  const shared = randomBytes(10_000);
  const E = writeTree(dir, "E", { e0: shared, e1: randomBytes(5000) });
  await backup(repo, { paths: [E], host: "h", workers: 1 });
  // A second writer that had not seen e0 yet (two hosts storing it at once) stores it again.
  const id = toHex(keyedId(repo.master.id, shared));
  const packs: PackInfo[] = [];
  const writer = repo.newPackWriter((p) => void packs.push(p));
  writer.add("data", id, shared);
  await writer.flush();
  await saveIndexFile(backend, repo.master.enc, packs);
  const copies = async () => {
    const st = await loadIndexState(await Repository.open(backend, "pw"));
    return [...st.packs.values()].filter((p) => p.blobs.some((b) => b.id === id)).length;
  };
  assertEquals(await copies(), 2);
  const stats = await pruneRepository(await Repository.open(backend, "pw"), {
    graceMs: 0,
    maxUnusedFraction: 0,
  });
  assertEquals(stats.duplicateBlobs, 1);
  assertEquals(await copies(), 1);
});

Deno.test("pruneRepository() survives a crash at every write and a rerun completes", async () => {
  const s = await scenario();
  await s.forgetS1();
  const template = join(s.dir, "template");
  copyTree(s.backend.dir, template);

  // A clean run, counting the writes (saves and removes) it makes.
  const counted = new FaultBackend(new LocalBackend(join(s.dir, "clean")));
  copyTree(template, join(s.dir, "clean"));
  await pruneRepository(await Repository.open(counted, "pw"), { graceMs: 0 });
  const writes = counted.calls.save + counted.calls.remove;
  // What a finished prune leaves, by name where names are stable: the template's
  // files it kept, and the blobs its index lists (repacked packs and the new
  // index file are named by their random salts, so only their count is fixed).
  const templateFiles = new Set(await listAll(new LocalBackend(template)));
  const shape = async (backend: Backend) => {
    const files = await listAll(backend);
    return {
      kept: files.filter((f) => templateFiles.has(f)),
      newData: files.filter((f) => f.startsWith("data/") && !templateFiles.has(f)).length,
      newIndex: files.filter((f) => f.startsWith("index/") && !templateFiles.has(f)).length,
      locks: files.filter((f) => f.startsWith("locks/")),
      blobs: [...await indexedIds(backend)].sort(),
    };
  };
  const cleanShape = await shape(counted);
  assert(writes >= 6, `only ${writes} writes`);

  for (let k = 1; k <= writes; k++) {
    const at = join(s.dir, `crash${k}`);
    copyTree(template, at);
    let n = 0;
    let crashed = false;
    const fault = new FaultBackend(new LocalBackend(at), {
      hook: (op) => {
        if (op === "save" || op === "remove") n++;
        if (n >= k) crashed = true;
        return crashed ? new InjectedFault(`crash at write ${k}`) : undefined;
      },
    });
    const repo = await Repository.open(fault, "pw");
    if (k < writes) await assertRejects(() => pruneRepository(repo, { graceMs: 0 }), InjectedFault);
    else await pruneRepository(repo, { graceMs: 0 }); // the last write, the lock's removal, only warns
    assertEquals(await verifyRepository(at), 2, `after a crash at write ${k}`);

    // The crashed run's lock is stale an hour later; then a rerun completes.
    const plain = new LocalBackend(at);
    await removeStaleLocks(await Repository.open(plain, "pw"), { now: () => Date.now() + HOUR });
    await pruneRepository(await Repository.open(plain, "pw"), { graceMs: 0 });
    assertEquals(await verifyRepository(at), 2, `after the rerun of a crash at write ${k}`);
    assertEquals(await shape(plain), cleanShape, `files after crash ${k}`);
    const last = await pruneRepository(await Repository.open(plain, "pw"), { graceMs: 0 });
    assertEquals([last.packsDropped, last.packsDeleted, last.indexFilesDeleted], [0, 0, 0]);
  }
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("a backup opened before a prune rereads the index under its lock: nothing is lost", async () => {
  // Even with grace 0, which deletes dropped packs at once: the backup takes
  // its shared lock, sees that the index changed since it opened the
  // repository, rereads it, and stores a2 again instead of reusing it.
  const s = await scenario();
  const stale = await Repository.open(s.backend, "pw");
  await s.forgetS1();
  const p = await pruneRepository(await Repository.open(s.backend, "pw"), { graceMs: 0 });
  assert(p.packsDeleted >= 1, "the pack holding a2 is gone");
  const D = writeTree(s.dir, "D", { a2: s.a.a2 });
  const r = await backup(stale, { paths: [D], host: "h", workers: 1 });
  assertEquals(r.summary.data_blobs, 1, "a2 is stored again");
  const files = await restoreFiles(await Repository.open(s.backend, "pw"), {
    ...r.snapshot,
    id: r.id,
  });
  assertEquals(files.get(join(D, "a2")), s.a.a2);
  assertEquals(await verifyRepository(s.backend.dir), 3);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("pruneRepository() keeps what a backup started before it reuses, given the grace", async () => {
  const s = await scenario();
  // Packs written just now are inside the grace period: nothing is dropped,
  // so a backup that opened before prune writes a complete snapshot.
  let stale = await Repository.open(s.backend, "pw");
  await s.forgetS1();
  const first = await pruneRepository(await Repository.open(s.backend, "pw"));
  assertEquals(first.packsDropped, 0);
  const D = writeTree(s.dir, "D", { a2: s.a.a2 });
  await backup(stale, { paths: [D], host: "h", workers: 1 });
  assertEquals(await verifyRepository(s.backend.dir), 3);

  // With old packs, phase 1 drops a3's pack after a backup opened the
  // repository; the backup rereads the index under its lock and stores a3
  // anew, so the later deletion of the dropped pack costs it nothing.
  await agePacks(s.backend, 2 * HOUR);
  stale = await Repository.open(s.backend, "pw");
  const t = Date.now();
  const p1 = await pruneRepository(await Repository.open(s.backend, "pw"), { now: () => t });
  assert(p1.packsDropped >= 1 && p1.packsDeleted === 0);
  const E = writeTree(s.dir, "E", { a3: s.a.a3 });
  const r = await backup(stale, { paths: [E], host: "h", workers: 1 });
  assert((await indexedIds(s.backend)).has(s.ids.a3), "a3 is indexed again, in a new pack");
  const p2 = await pruneRepository(await Repository.open(s.backend, "pw"), {
    now: () => t + HOUR + 1,
  });
  assertEquals(p2.packsReindexed, 0);
  assert(p2.packsDeleted >= 1);
  assertEquals(await verifyRepository(s.backend.dir), 4);
  const fresh = await Repository.open(s.backend, "pw");
  const files = await restoreFiles(fresh, { ...r.snapshot, id: r.id });
  assertEquals(files.get(join(E, "a3")), s.a.a3);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("pruneRepository() under a concurrent backup leaves every snapshot complete", async () => {
  const s = await scenario();
  await s.forgetS1();
  await agePacks(s.backend, 2 * HOUR);
  const D = writeTree(s.dir, "D", {
    a4: s.a.a4,
    d0: randomBytes(200_000),
    d1: randomBytes(30_000),
  });
  const t = Date.now();
  // The backup's backend holds it right after its shared lock is saved, until
  // the prune is done: the prune runs while the backup is surely under way.
  const announced = Promise.withResolvers<void>();
  const pruned = Promise.withResolvers<void>();
  const inner = s.backend;
  const paused: Backend = {
    location: inner.location,
    load: (...a) => inner.load(...a),
    stat: (...a) => inner.stat(...a),
    list: (...a) => inner.list(...a),
    remove: (...a) => inner.remove(...a),
    close: () => inner.close(),
    save: async (type, name, data, opts) => {
      await inner.save(type, name, data, opts);
      if (type === "locks") {
        announced.resolve();
        await pruned.promise;
      }
    },
  };
  const running = backup(await Repository.open(paused, "pw"), {
    paths: [D],
    host: "h",
    workers: 2,
  });
  await Promise.race([
    announced.promise,
    running.then(() => Promise.reject(new Error("the backup ran without a shared lock"))),
  ]);
  const repo = await Repository.open(s.backend, "pw");
  assertEquals((await listLocks(repo)).map((l) => l.kind), ["shared"]);
  const p1 = await pruneRepository(repo, { now: () => t }).finally(() => pruned.resolve());
  const r = await running;
  assertEquals(p1.backupsRunning, 1);
  assertEquals(
    [p1.packsDropped, p1.packsDeleted],
    [0, 0],
    "nothing is taken from a running backup",
  );
  // Once it is done, prune proceeds; a grace period on, it deletes.
  const p2 = await pruneRepository(await Repository.open(s.backend, "pw"), { now: () => t + 1 });
  assert(p2.packsDropped >= 1);
  await pruneRepository(await Repository.open(s.backend, "pw"), { now: () => t + HOUR + 2 });
  assertEquals(await verifyRepository(s.backend.dir), 3);
  const files = await restoreFiles(await Repository.open(s.backend, "pw"), {
    ...r.snapshot,
    id: r.id,
  });
  assertEquals(files.size, 3);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("pruneRepository() weighs blobs by their own bytes, not their segment's", async () => {
  // One pack: a large blob in a segment of its own, and many small ones
  // sharing a segment. Once the large one is unused most of the pack is
  // unused, however many small blobs list the small segment's length.
  const { dir } = await newRepo();
  const backend = await LocalBackend.create(join(dir, "big-packs"));
  const repo = await Repository.init(backend, "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
    packSize: 4 * 1024 * 1024,
  });
  const small: Record<string, Uint8Array> = {};
  for (let i = 0; i < 40; i++) small[`s${i}`] = randomBytes(2_000);
  const both = writeTree(dir, "both", { ...small, big: randomBytes(600_000) });
  const first = await backup(repo, { paths: [both], host: "h", workers: 1 });
  Deno.removeSync(join(both, "big"));
  await backup(repo, { paths: [both], host: "h", workers: 1 });
  await backend.remove("snapshots", first.id);
  const stats = await pruneRepository(await Repository.open(backend, "pw"), { graceMs: 0 });
  assertEquals(stats.packsRepacked, 1);
  assertEquals(await verifyRepository(backend.dir), 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("pruneRepository() goes by the storage's clock when this host's is hours ahead", async () => {
  const s = await scenario();
  await s.forgetS1();
  // A running backup's pack, written just now (by the storage's clock) and not indexed yet.
  const writer = s.repo.newPackWriter(() => {});
  writer.add("data", "cd".repeat(32), randomBytes(1000));
  await writer.flush();
  const packs = async () => (await listAll(s.backend)).filter((f) => f.startsWith("data/"));
  const before = await packs();
  const said: string[] = [];
  const stats = await pruneRepository(await Repository.open(s.backend, "pw"), {
    now: () => Date.now() + 3 * HOUR,
    storageClock: true,
    onProgress: (m) => said.push(m),
  });
  assertEquals([stats.packsDropped, stats.packsRepacked, stats.packsDeleted], [0, 0, 0]);
  assertEquals(await packs(), before, "no pack is deleted");
  assertEquals(await verifyRepository(s.backend.dir), 2);
  assert(
    said.some((m) => /^warning: this host's clock is 108\d\d s ahead of the storage's/.test(m)),
    said.join("\n"),
  );
  await Deno.remove(s.dir, { recursive: true });
});
