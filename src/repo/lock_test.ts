import { backup } from "../archiver/mod.ts";
import { type Backend, FaultBackend, InjectedFault } from "../backend/mod.ts";
import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";
import {
  acquireExclusiveLock,
  acquireSharedLock,
  listLocks,
  LockedError,
  releaseLock,
  removeStaleLocks,
  STALE_LOCK_MS,
} from "./lock.ts";
import { pruneRepository } from "./prune.ts";
import { Repository } from "./repository.ts";
import { agePacks, listAll, newRepo, randomBytes, writeTree } from "./_prune_testing.ts";
import { deadPid } from "../testing/dead_pid.ts";

const HOUR = 3600_000;

Deno.test("acquireExclusiveLock() writes a sealed lock file that releaseLock() removes", async () => {
  const { dir, backend, repo } = await newRepo();
  const lock = await acquireExclusiveLock(repo, { host: "h1" });
  const locks = await listLocks(repo);
  assertEquals(locks.length, 1);
  assertEquals([locks[0].kind, locks[0].host, locks[0].pid], ["exclusive", "h1", Deno.pid]);
  assertEquals(locks[0].name, lock.name);
  await releaseLock(lock);
  assertEquals((await listAll(backend)).filter((f) => f.startsWith("locks/")), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a second prune is refused while the exclusive lock is held", async () => {
  const { dir, repo } = await newRepo();
  const lock = await acquireExclusiveLock(repo);
  const err = await assertRejects(() => pruneRepository(repo, { graceMs: 0 }), LockedError);
  assertEquals((err as LockedError).holder.name, lock.name);
  await assertRejects(() => acquireExclusiveLock(repo), LockedError);
  assertEquals((await listLocks(repo)).length, 1, "the refused attempts left no lock behind");
  await releaseLock(lock);
  await pruneRepository(repo, { graceMs: 0 });
  await Deno.remove(dir, { recursive: true });
});

/**
 * The repository opened through a backend whose listing of `locks/` first
 * waits until `parties` listings have begun: every prune has written its lock
 * before any looks for the others, the closest race there is.
 */
async function racingRepo(backend: Backend, parties: number): Promise<Repository> {
  let waiting = 0;
  const { promise: allThere, resolve } = Promise.withResolvers<void>();
  const gated: Backend = {
    location: backend.location,
    save: (...a) => backend.save(...a),
    load: (...a) => backend.load(...a),
    stat: (...a) => backend.stat(...a),
    remove: (...a) => backend.remove(...a),
    close: () => backend.close(),
    list: (type, opts) => {
      if (type !== "locks") return backend.list(type, opts);
      return (async function* () {
        if (++waiting === parties) resolve();
        await allThere;
        yield* backend.list(type, opts);
      })();
    },
  };
  return await Repository.open(gated, "pw");
}

Deno.test("two prunes locking at once never both proceed, and a retry settles it", async () => {
  const { dir, backend } = await newRepo();
  const repo = await racingRepo(backend, 2);
  const results = await Promise.allSettled([
    acquireExclusiveLock(repo),
    acquireExclusiveLock(repo),
  ]);
  const won = results.filter((r) => r.status === "fulfilled");
  assert(won.length <= 1, "both acquired the exclusive lock");
  for (const r of results) {
    if (r.status === "fulfilled") await releaseLock(r.value);
    else assert(r.reason instanceof LockedError, `refused for another reason: ${r.reason}`);
  }
  assertEquals(await listLocks(repo), [], "a refused prune left its lock behind");
  // Once the race is over, the next attempt wins.
  await releaseLock(await acquireExclusiveLock(repo));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("of two prunes one after the other, exactly one holds the lock", async () => {
  const { dir, repo } = await newRepo();
  const first = await acquireExclusiveLock(repo);
  // Each latecomer, one at a time, is refused naming the holder, and leaves no lock.
  for (let i = 0; i < 2; i++) {
    const err = await assertRejects(() => acquireExclusiveLock(repo), LockedError);
    assertEquals((err as LockedError).holder.name, first.name);
  }
  assertEquals((await listLocks(repo)).map((l) => l.name), [first.name]);
  await releaseLock(first);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a stale lock is ignored and removeStaleLocks() removes it", async () => {
  const { dir, repo } = await newRepo();
  const old = Date.now() - STALE_LOCK_MS - 1000;
  const dead = await acquireExclusiveLock(repo, { now: () => old, refreshMs: 0 });
  const lock = await acquireExclusiveLock(repo); // the dead holder does not block
  await releaseLock(lock);
  assertEquals(await removeStaleLocks(repo), [dead.name]);
  assertEquals(await listLocks(repo), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("RepoLock.refresh() replaces the lock file, keeping its start time", async () => {
  const { dir, repo } = await newRepo();
  let t = 1_000_000;
  const lock = await acquireExclusiveLock(repo, { now: () => t, refreshMs: 0 });
  const first = lock.name;
  t += 60_000;
  await lock.refresh();
  const [l] = await listLocks(repo);
  assert(l.name !== first);
  assertEquals([l.time, l.refreshed], [1_000_000, 1_060_000]);
  await releaseLock(lock);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("prune drops nothing while a backup holds a shared lock, and is not blocked", async () => {
  const { dir, backend, repo } = await newRepo();
  const A = writeTree(dir, "A", { a0: randomBytes(10_000) });
  const s1 = await backup(repo, { paths: [A], host: "h", workers: 1 });
  await backup(repo, {
    paths: [writeTree(dir, "B", { b0: randomBytes(10_000) })],
    host: "h",
    workers: 1,
  });
  await backend.remove("snapshots", s1.id);
  await agePacks(backend, 2 * HOUR);
  const t = Date.now();
  const shared = await acquireSharedLock(repo, { now: () => t, refreshMs: 0 });
  const held = await pruneRepository(repo, { now: () => t });
  assertEquals([held.backupsRunning, held.packsDropped], [1, 0]);
  await releaseLock(shared);

  const p1 = await pruneRepository(repo, { now: () => t });
  assert(p1.packsDropped >= 1 && p1.packsDeleted === 0);
  // A backup that announced itself before the drop may hold the dropped
  // blobs and holds back their deletion; one from after the drop cannot.
  const announced = async (time: number) => {
    let clock = time;
    const lock = await acquireSharedLock(repo, { now: () => clock, refreshMs: 0 });
    clock = t + HOUR;
    await lock.refresh();
    return lock;
  };
  const earlier = await announced(t - 1);
  const p2 = await pruneRepository(repo, { now: () => t + HOUR + 2 });
  assertEquals([p2.backupsRunning, p2.packsDeleted, p2.packsPending], [1, 0, p1.packsPending]);
  await releaseLock(earlier);
  const later = await announced(t + 1);
  const p3 = await pruneRepository(repo, { now: () => t + HOUR + 2 });
  assertEquals([p3.backupsRunning, p3.packsDeleted], [1, p1.packsPending]);
  await releaseLock(later);
  assertEquals(await listLocks(repo), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a lock file the credentials may not delete is a warning, not a failure", async () => {
  const { dir, backend } = await newRepo();
  const denied = Object.assign(new Error("403 AccessDenied"), { status: 403 });
  const faulty = new FaultBackend(backend, {
    hook: (op, type) => (op === "remove" && type === "locks" ? denied : undefined),
  });
  const repo = await Repository.open(faulty, "pw");
  const warnings: string[] = [];
  const lock = await acquireSharedLock(repo, { refreshMs: 0, onWarning: (m) => warnings.push(m) });
  await lock.refresh();
  await releaseLock(lock);
  assertEquals(warnings.length, 2, warnings.join("\n"));
  assert(
    warnings.every((w) => /^cannot remove lock file locks\/[0-9a-f]+ \(403 AccessDenied\)/.test(w)),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a lock whose holder is a dead process on this host is stale at once", async () => {
  const { dir, backend, repo } = await newRepo();
  const pid = await deadPid();
  const killedPrune = await acquireExclusiveLock(repo, { pid, refreshMs: 0 });
  const killedBackup = await acquireSharedLock(repo, { pid, refreshMs: 0 });
  const elsewhere = await acquireSharedLock(repo, { pid, host: "other-host", refreshMs: 0 });
  // The killed prune does not block a new one, nor the killed backup a drop.
  const A = writeTree(dir, "A", { a0: randomBytes(10_000) });
  const s1 = await backup(repo, { paths: [A], host: "h", workers: 1 });
  await backend.remove("snapshots", s1.id);
  await agePacks(backend, 2 * HOUR);
  const stats = await pruneRepository(repo, { graceMs: 0 });
  assertEquals(stats.backupsRunning, 1, "only the other host's lock counts as live");
  await releaseLock(elsewhere);
  const again = await pruneRepository(repo, { graceMs: 0 });
  assertEquals(again.backupsRunning, 0);
  assert(again.packsDeleted >= 1);
  assertEquals((await removeStaleLocks(repo)).sort(), [killedPrune.name, killedBackup.name].sort());
  assertEquals(await listLocks(repo), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a lock file that cannot be removed is a warning, and expires by time", async () => {
  const { dir, backend } = await newRepo();
  const faulty = new FaultBackend(backend);
  const repo = await Repository.open(faulty, "pw");
  const warnings: string[] = [];
  let t = Date.now();
  const lock = await acquireSharedLock(repo, {
    now: () => t,
    refreshMs: 0,
    onWarning: (m) => warnings.push(m),
  });
  const first = lock.name;
  faulty.failNext("remove", 2, new InjectedFault("AccessDenied: no deletes"));
  t += 60_000;
  await lock.refresh();
  assertEquals(lock.refreshError, undefined, "the new lock file was written");
  await releaseLock(lock);
  assertEquals(warnings.length, 2);
  assert(warnings[0].includes(`locks/${first}`) && warnings[0].includes("AccessDenied"));
  // Both files stay; once old they block no prune.
  assertEquals((await listLocks(repo)).length, 2);
  const later = await acquireExclusiveLock(repo, { now: () => t + STALE_LOCK_MS + 60_001 });
  await releaseLock(later);
  await Deno.remove(dir, { recursive: true });
});
