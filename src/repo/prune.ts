/**
 * Prune: frees the space of blobs no snapshot references, safely against a
 * crash at any step and against backups and readers running on other hosts
 * meanwhile.
 *
 * The safety rules are stated once, numbered, in docs/PRUNE.md ("The
 * rules"); comments here cite them as "rule N" and do not restate them. One
 * run, with the rules each step carries out:
 * 1. Take the exclusive lock (rule 9), measure the storage's clock (rule 11)
 *    and note the live shared locks (rule 4).
 * 2. List snapshots, then index files, then packs, and walk every tree;
 *    anything unreadable stops the run before it writes (rule 1).
 * 3. Plan with no I/O (`_prune_plan.ts`): keep, repack, drop, reindex and
 *    delete per rules 2, 4, 6, 7 and 12.
 * 4. Write in rule 10's order: repacked packs, the one new index file, the
 *    second look (rule 5), then the deletions and, under Object Lock, the
 *    renewal of retention.
 *
 * @module
 */
import type { FileStat } from "../backend/mod.ts";
import type { MasterKey } from "../crypto/mod.ts";
import { NotFoundError } from "../backend/mod.ts";
import { ADOPT_PROTECT_MS } from "./adopt_packs.ts";
import { forEachBlob } from "./blob_codec.ts";
import { CorruptError } from "./format.ts";
import { type PackInfo, packKey, type PackWriter, readPackTrailer } from "./pack.ts";
import type { SnapshotWithId } from "./snapshot.ts";
import {
  acquireExclusiveLock,
  isStaleLock,
  listLocks,
  type LockFile,
  type LockRepo,
  type RepoLock,
} from "./lock.ts";
import { renewRetention, type RetentionRepo } from "./object_lock.ts";
import {
  type DroppedPack,
  loadIndexState,
  type PackEntry,
  savePruneIndex,
} from "./_prune_index.ts";
import { planPrune, type PrunePlan } from "./_prune_plan.ts";
import { type BlobPlace, type ReachRepo, referencedBlobs } from "./_prune_reach.ts";

/**
 * What prune needs of a repository: storage (list, load, stat, remove, and
 * the temp files and retention where the backend has them), the keys, the
 * Object Lock setting, every snapshot, and a pack writer for repacking.
 * `Repository` is one. Prune reads the index files itself rather than
 * trusting the repository's loaded index, so it takes none.
 */
export interface PruneRepo extends LockRepo, RetentionRepo, ReachRepo {
  readonly master: Pick<MasterKey, "enc" | "id">;
  /** With `strict`, throws on a snapshot it cannot read (rule 1). */
  listSnapshots(opts: { strict: true }): Promise<SnapshotWithId[]>;
  newPackWriter(onPack: (p: PackInfo) => void | Promise<void>): PackWriter;
}

/** Default grace period G: how long a backup without a live lock may run (rule 6). */
export const DEFAULT_PRUNE_GRACE_MS = 60 * 60_000;
/** Default share of unused bytes above which a pack is repacked. */
export const DEFAULT_MAX_UNUSED_FRACTION = 0.2;

export interface PruneOptions {
  /** Decide and report, but write and delete nothing (and take no lock). */
  dryRun?: boolean;
  /** The grace period G in ms; 0 only when no backup can be running. */
  graceMs?: number;
  /** Repack packs with a larger share of unused bytes (0..1). */
  maxUnusedFraction?: number;
  /** This host's clock; default `Date.now`. */
  now?: () => number;
  /**
   * Go by the storage's clock: the modification time the backend reports
   * for the lock prune just wrote, against `now` when it was written, gives
   * the offset applied to every time prune compares or records. Default: on,
   * unless `now` is injected (tests that move time by `now` alone). A dry
   * run writes no lock and uses `now`.
   */
  storageClock?: boolean;
  /** The exclusive lock, when the caller took it first (e.g. forget before it removes snapshots). */
  lock?: RepoLock;
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
  /** Test hook: runs once the plan is made, before anything is written. */
  onPlanned?: () => Promise<void>;
}

/** What prune found and did (or, in a dry run, would do). */
export interface PruneStats {
  dryRun: boolean;
  snapshots: number;
  trees: number;
  /** Pack files in storage. */
  packs: number;
  blobsUsed: number;
  blobsUnused: number;
  duplicateBlobs: number;
  /** Live packs taken out of the index (unused or repacked). */
  packsDropped: number;
  packsRepacked: number;
  blobsRepacked: number;
  /** Bytes of new packs written by repacking (dry run: bytes to copy). */
  bytesRepacked: number;
  packsWritten: number;
  /** Blob ids no longer in the index afterwards. */
  blobsRemoved: number;
  packsDeleted: number;
  /** Of those, packs no index listed (left by crashed runs). */
  unindexedPacksDeleted: number;
  bytesFreed: number;
  /** Packs out of the index, to be deleted by a prune after the grace period. */
  packsPending: number;
  bytesPending: number;
  /** Dropped or unindexed packs put back because a snapshot references them. */
  packsReindexed: number;
  /** Index files that listed packs missing from storage (none referenced). */
  packsMissing: number;
  indexFilesWritten: number;
  indexFilesDeleted: number;
  /** Live shared locks seen; while any exists nothing is dropped. */
  backupsRunning: number;
  /** Packs and index files due for deletion but under Object Lock: left for a later prune. */
  filesLocked: number;
  /** Of the packs due for deletion, those left because of Object Lock. */
  packsLocked: number;
  /** Files whose Object Lock retention prune renewed (object_lock.ts). */
  retentionRenewed: number;
  /** Temp files of interrupted saves removed (older than the grace period). */
  temporaryFilesDeleted: number;
}

/** Frees unreferenced space, by the rules of docs/PRUNE.md. */
export async function pruneRepository(
  repo: PruneRepo,
  opts: PruneOptions = {},
): Promise<PruneStats> {
  const graceMs = opts.graceMs ?? DEFAULT_PRUNE_GRACE_MS;
  const maxUnused = opts.maxUnusedFraction ?? DEFAULT_MAX_UNUSED_FRACTION;
  if (!(graceMs >= 0) || !Number.isFinite(graceMs)) {
    throw new RangeError(`Grace period must be a finite number of ms >= 0, not ${graceMs}`);
  }
  if (!(maxUnused >= 0 && maxUnused <= 1)) {
    throw new RangeError(`maxUnusedFraction must be in [0, 1], not ${maxUnused}`);
  }
  const localNow = opts.now ?? Date.now;
  /** The clock prune goes by: the storage's, from the lock just written (see storageClockOffset). */
  const clockOf = async (lock: RepoLock | undefined) => {
    const useStorage = opts.storageClock ?? opts.now === undefined;
    const offset = lock && useStorage ? await storageClockOffset(repo, lock, opts) : 0;
    return () => localNow() + offset;
  };
  if (opts.lock) {
    if (opts.lock.info.kind !== "exclusive") throw new TypeError("prune needs the exclusive lock");
    const now = await clockOf(opts.lock);
    return await prune(repo, { ...opts, graceMs, maxUnused, now }, opts.lock);
  }
  const lock = opts.dryRun ? undefined : await acquireExclusiveLock(repo, {
    now: localNow,
    signal: opts.signal,
    onWarning: (m) => opts.onProgress?.(`warning: ${m}`),
  });
  try {
    const now = await clockOf(lock);
    return await prune(repo, { ...opts, graceMs, maxUnused, now }, lock);
  } finally {
    await lock?.release();
  }
}

/**
 * Storage time minus this host's, from the lock file just written (its
 * mtime is the storage's clock, its `time` this host's). A backend that
 * reports no mtime gives 0. S3 reports whole seconds, rounded down, so the
 * estimate errs up to a second towards an older storage time: the safe side.
 */
async function storageClockOffset(
  repo: PruneRepo,
  lock: RepoLock,
  opts: PruneOptions,
): Promise<number> {
  const { mtimeMs } = await repo.backend.stat("locks", lock.name, { signal: opts.signal });
  if (mtimeMs === undefined) return 0;
  const offset = mtimeMs - lock.info.time;
  if (Math.abs(offset) > 60_000) {
    opts.onProgress?.(
      `warning: this host's clock is ${Math.round(Math.abs(offset) / 1000)} s ` +
        `${offset < 0 ? "ahead of" : "behind"} the storage's; prune goes by the storage's`,
    );
  }
  return offset;
}

interface Resolved extends PruneOptions {
  graceMs: number;
  maxUnused: number;
  now: () => number;
}

async function prune(repo: PruneRepo, o: Resolved, lock?: RepoLock): Promise<PruneStats> {
  const { signal } = o;
  const say = (m: string) => o.onProgress?.(m);
  const t0 = o.now();
  const shared = (await listLocks(repo, { signal }))
    .filter((l) => l.kind === "shared" && !isStaleLock(l, t0));
  const oldestShared = Math.min(...shared.map((l) => l.time));
  const shared0 = new Set(shared.map(holderKey));

  say("listing snapshots");
  const snapshots = await refuseIfDamaged(() => repo.listSnapshots({ strict: true }));
  const snapshotNames = new Set(snapshots.map((s) => s.id));
  say("reading the index");
  const state = await refuseIfDamaged(() => loadIndexState(repo, signal));
  const data = new Map<string, FileStat>();
  for await (const f of repo.backend.list("data", { signal })) data.set(f.name, f);

  // Where each blob can be read: live packs, then dropped, then unindexed ones.
  const places = new Map<string, BlobPlace>();
  const addPlaces = (packs: Iterable<PackEntry>) => {
    for (const pack of packs) {
      if (!data.has(pack.name)) continue;
      for (const blob of pack.blobs) if (!places.has(blob.id)) places.set(blob.id, { pack, blob });
    }
  };
  addPlaces(state.packs.values());
  addPlaces(state.dropped.values());
  let trailers: Map<string, PackEntry> | undefined;
  const readTrailers = async () => {
    if (trailers) return trailers;
    say("reading unindexed packs");
    trailers = await readUnindexed(repo, state, data, say);
    addPlaces(trailers.values());
    return trailers;
  };
  const locate = async (id: string) => places.get(id) ?? (await readTrailers(), places.get(id));

  say(`walking the trees of ${snapshots.length} snapshots`);
  const reach = await referencedBlobs(repo, snapshots, locate, signal);
  if ([...reach.blobs].some((id) => !places.has(id))) await readTrailers();
  const noMtime = [...data.values()].some((f) =>
    f.mtimeMs === undefined && !state.packs.has(f.name) && !state.dropped.has(f.name)
  );
  if (noMtime) await readTrailers();

  // Rule 2's bound; rules 4 and 6 are why it takes both.
  const deleteBefore = Math.min(t0 - o.graceMs, shared.length > 0 ? oldestShared - 1 : Infinity);
  const plan = planPrune({
    state,
    data,
    used: reach.blobs,
    trailers: trailers ?? new Map(),
    now: t0,
    freshAfter: t0 - o.graceMs,
    deleteBefore,
    allowDrops: shared.length === 0,
    // Rule 12: a backup holding a shared lock may be adopting young unindexed packs.
    unindexedKeptAfter: shared.length > 0 ? t0 - ADOPT_PROTECT_MS : undefined,
    maxUnusedFraction: o.maxUnused,
  });
  if (plan.missingBlobs.length > 0) {
    throw new CorruptError(
      `${plan.missingBlobs.length} referenced blob(s) are in no pack (e.g. ${
        plan.missingBlobs[0]
      }); run "cairn check" - nothing was pruned`,
    );
  }
  const markDrops = t0 > deleteBefore;
  const stats = initialStats(o, snapshots.length, reach.trees, data, plan, markDrops);
  stats.backupsRunning = shared.length;
  stats.blobsUsed = reach.blobs.size;
  const dirty = plan.drop.length > 0 || plan.reindex.length > 0 || plan.missingPacks.length > 0 ||
    plan.remove.some((r) => !r.unindexed) || plan.carry.length !== state.dropped.size ||
    state.live.length > 1;
  await o.onPlanned?.();
  if (o.dryRun) {
    if (dirty) stats.indexFilesWritten = 1;
    stats.indexFilesDeleted = (dirty ? state.live.length : 0) + state.superseded.length;
    if (plan.repack.length > 0) stats.bytesRepacked = sum(plan.repack.flatMap((r) => r.blobs));
    return stats;
  }

  // 1. Copy the used blobs of sparse packs into new packs.
  const written: PackInfo[] = [];
  if (plan.repack.length > 0) {
    say(`repacking ${plan.repack.length} packs`);
    await repack(repo, plan, written, o);
    stats.bytesRepacked = written.reduce((n, p) => n + p.size, 0);
    stats.packsWritten = written.length;
  }
  // 2. One new index file replaces every live one.
  const superseded = [...state.superseded];
  const packs = [...plan.keep, ...plan.reindex, ...written];
  let newIndex: string | undefined;
  if (dirty) {
    assertLockHeld(lock);
    const droppedAt = o.now();
    const marks: DroppedPack[] = [
      ...plan.carry,
      ...(markDrops ? plan.drop.map((p) => ({ ...p, droppedAt })) : []),
    ];
    say("writing the new index");
    newIndex = await savePruneIndex(repo, packs, marks, state.live);
    stats.indexFilesWritten = 1;
    superseded.push(...state.live);
  }
  // Rule 5, the second look, now that the new index is in place: a backup
  // (or reader) that started after the locks were listed may have read the
  // old index and reused what this run dropped, and may even have finished.
  let remove = plan.remove;
  let temporary = shared.length === 0;
  if (await startedSince(repo, o.now(), shared0, snapshotNames, lock, signal)) {
    temporary = false;
    const dropped = new Set(plan.drop.map((p) => p.name));
    remove = plan.remove.filter((r) => !r.unindexed && !dropped.has(r.name));
    say(
      "warning: a backup or reader started while pruning; packs dropped in this run stay " +
        "readable, and a later prune deletes them if nothing uses them",
    );
    if (plan.drop.length > 0) {
      // Dropped "now", after every such backup took its lock: later prunes
      // hold these packs back while it runs, as they would for any drop it saw.
      const droppedAt = o.now();
      const marks = [...plan.carry, ...plan.drop.map((p) => ({ ...p, droppedAt }))];
      await savePruneIndex(repo, packs, marks, [...state.live, newIndex!]);
      stats.indexFilesWritten = 2;
      superseded.push(newIndex!);
      const size = (name: string) => data.get(name)?.size ?? 0;
      if (!markDrops) {
        stats.packsPending += plan.drop.length;
        stats.bytesPending += plan.drop.reduce((n, p) => n + size(p.name), 0);
      }
    }
  }
  // 3. Delete superseded index files, then 4. the packs nothing needs.
  assertLockHeld(lock);
  const locked = async (type: "index" | "data", name: string) => {
    const until = await retainedUntil(repo, type, name, o.now(), signal);
    if (until === undefined) return false;
    stats.filesLocked++;
    if (type === "data") stats.packsLocked++;
    say(
      `warning: ${type === "data" ? "pack" : "index file"} ${name.slice(0, 8)} is under Object ` +
        `Lock until ${new Date(until).toISOString()}: left for a prune after that`,
    );
    return true;
  };
  for (const name of superseded) {
    signal?.throwIfAborted();
    if (await locked("index", name)) continue;
    if (await removeIfPresent(repo, "index", name)) stats.indexFilesDeleted++;
  }
  if (remove.length > 0) say(`deleting ${remove.length} packs`);
  for (const r of remove) {
    signal?.throwIfAborted();
    if (await locked("data", r.name)) continue;
    if (!(await removeIfPresent(repo, "data", r.name))) continue;
    stats.packsDeleted++;
    stats.bytesFreed += r.size;
    if (r.unindexed) stats.unindexedPacksDeleted++;
  }
  // 5. Temp files of interrupted saves, once no save that is still running can own them (rules 4, 6).
  if (temporary && repo.backend.removeTemporary) {
    for await (const f of repo.backend.listTemporary?.({ signal }) ?? []) {
      if (f.mtimeMs === undefined || f.mtimeMs > t0 - o.graceMs) continue;
      await repo.backend.removeTemporary(f.name, { signal });
      stats.temporaryFilesDeleted++;
    }
  }
  // 6. Under Object Lock: extend the retention of everything still in use.
  if (repo.config.object_lock) {
    const renewed = await renewRetention(repo, { now: o.now, signal, onProgress: say });
    stats.retentionRenewed = renewed.renewed;
  }
  return stats;
}

/**
 * When a file is under Object Lock retention that has not run out at `now`,
 * its retain-until time; otherwise (or in a repository without Object Lock)
 * undefined. A DELETE of such a file would fail (403) or, without a version,
 * only hide it behind a delete marker: prune leaves it for a later run.
 */
async function retainedUntil(
  repo: PruneRepo,
  type: "index" | "data",
  name: string,
  now: number,
  signal?: AbortSignal,
): Promise<number | undefined> {
  if (!repo.config.object_lock || !repo.backend.retention) return undefined;
  try {
    const r = await repo.backend.retention(type, name, { signal });
    return r && r.untilMs > now ? r.untilMs : undefined;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

function initialStats(
  o: Resolved,
  snapshots: number,
  trees: number,
  data: Map<string, FileStat>,
  plan: PrunePlan,
  markDrops: boolean,
): PruneStats {
  const size = (name: string) => data.get(name)?.size ?? 0;
  const pending = [
    ...plan.carry.map((c) => c.name),
    ...(markDrops ? plan.drop : []).map((d) => d.name),
  ];
  const stats = {
    dryRun: o.dryRun === true,
    snapshots,
    trees,
    packs: data.size,
    blobsUsed: 0,
    blobsUnused: plan.unusedBlobs,
    duplicateBlobs: plan.duplicateBlobs,
    packsDropped: plan.drop.length,
    packsRepacked: plan.repack.length,
    blobsRepacked: plan.repack.reduce((n, r) => n + r.blobs.length, 0),
    bytesRepacked: 0,
    packsWritten: 0,
    blobsRemoved: plan.blobsRemoved,
    packsDeleted: 0,
    unindexedPacksDeleted: 0,
    bytesFreed: 0,
    packsPending: pending.length,
    bytesPending: pending.reduce((n, name) => n + size(name), 0),
    packsReindexed: plan.reindex.length,
    packsMissing: plan.missingPacks.length,
    indexFilesWritten: 0,
    indexFilesDeleted: 0,
    backupsRunning: 0,
    filesLocked: 0,
    packsLocked: 0,
    retentionRenewed: 0,
    temporaryFilesDeleted: 0,
  };
  if (o.dryRun) {
    stats.packsDeleted = plan.remove.length;
    stats.unindexedPacksDeleted = plan.remove.filter((r) => r.unindexed).length;
    stats.bytesFreed = plan.remove.reduce((n, r) => n + r.size, 0);
  }
  return stats;
}

/** Reads the trailers of packs no live or dropped entry lists; skips unreadable ones. */
async function readUnindexed(
  repo: PruneRepo,
  state: { packs: Map<string, unknown>; dropped: Map<string, unknown> },
  data: Map<string, FileStat>,
  say: (m: string) => void,
): Promise<Map<string, PackEntry>> {
  const out = new Map<string, PackEntry>();
  for (const name of data.keys()) {
    if (state.packs.has(name) || state.dropped.has(name)) continue;
    try {
      const { salt, blobs } = await readPackTrailer(repo.backend, repo.master.enc, name);
      out.set(name, { name, salt, blobs });
    } catch (err) {
      if (!(err instanceof CorruptError || err instanceof RangeError)) throw err;
      say(`warning: unindexed pack ${name} is unreadable: ${(err as Error).message}`);
    }
  }
  return out;
}

/** Copies each repack entry's blobs (verified on the way) into new packs. */
async function repack(
  repo: PruneRepo,
  plan: PrunePlan,
  written: PackInfo[],
  o: Resolved,
): Promise<void> {
  const writer = repo.newPackWriter((p) => void written.push(p));
  for (const { pack, blobs } of plan.repack) {
    o.signal?.throwIfAborted();
    const bytes = await repo.backend.load("data", pack.name, undefined, { signal: o.signal });
    const key = await packKey(repo.master.enc, pack.salt);
    await forEachBlob(key, repo.master.id, bytes, blobs, (b, plain) => {
      if (plain instanceof Error) {
        throw new CorruptError(`pack "${pack.name}": ${plain.message}`, { cause: plain });
      }
      writer.add(b.type, b.id, plain);
    });
    if (writer.backlog > 1) await writer.drain();
  }
  await writer.flush();
}

/**
 * Prune decides what is unused from every snapshot and index file: with one
 * unreadable, it could delete what that file needs, so it stops instead.
 */
async function refuseIfDamaged<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof CorruptError)) throw err;
    throw new CorruptError(
      `${err.message}; nothing was pruned: prune must read every snapshot and index file ` +
        `(see "cairn check"; "cairn repair" rebuilds them)`,
      { cause: err },
    );
  }
}

/** Who holds a lock, the same across its refreshes (each refresh is a new file). */
function holderKey(l: LockFile): string {
  return `${l.kind}/${l.host}/${l.pid}/${l.time}`;
}

/**
 * Did a live shared lock that was not there at the start appear, or a
 * snapshot that was not listed? Either means a backup or reader may rely
 * on the index as it was before this run changed it.
 */
async function startedSince(
  repo: PruneRepo,
  now: number,
  shared0: ReadonlySet<string>,
  snapshots0: ReadonlySet<string>,
  own: RepoLock | undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  for (const l of await listLocks(repo, { signal })) {
    if (l.kind !== "shared" || isStaleLock(l, now) || shared0.has(holderKey(l))) continue;
    if (own && l.name === own.name) continue;
    return true;
  }
  for await (const f of repo.backend.list("snapshots", { signal })) {
    if (!snapshots0.has(f.name)) return true;
  }
  return false;
}

function assertLockHeld(lock: RepoLock | undefined): void {
  if (lock?.refreshError) {
    throw new Error("Cannot refresh the prune lock; stopping before changing the index", {
      cause: lock.refreshError,
    });
  }
}

async function removeIfPresent(
  repo: PruneRepo,
  type: "index" | "data",
  name: string,
): Promise<boolean> {
  try {
    await repo.backend.remove(type, name);
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/** Plaintext bytes of `blobs` (blobs of one segment share its sealed length). */
function sum(blobs: { rawLength: number }[]): number {
  return blobs.reduce((n, b) => n + b.rawLength, 0);
}
