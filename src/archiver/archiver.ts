import { resolve, sep } from "node:path";
import { keyedId, type MasterKey, sha256, toHex } from "../crypto/mod.ts";
import {
  acquireSharedLock,
  adoptPacks,
  type AdoptRepo,
  type BackupSummary,
  dateToNs,
  encodeTree,
  type GuardRepo,
  type LockRepo,
  type MasterIndex,
  type Node,
  nsToDate,
  type PackInfo,
  type PackWriter,
  releaseLock,
  type RepoConfig,
  saveIndexFile,
  type Snapshot,
  SnapshotGuard,
  type SnapshotWithId,
  type Tree,
} from "../repo/mod.ts";
import {
  CACHEDIR_TAG,
  type DirEntry,
  DirLister,
  Excluder,
  hasMarker,
  listDir,
  TreeCounter,
  type WalkError,
} from "../walker/mod.ts";
import {
  type MirrorDir,
  type MirrorEntry,
  mirrorEntry,
  type MirrorSink,
  type MirrorTarget,
  parentFile,
} from "./mirror_sink.ts";
import {
  byteFs,
  type FileStat,
  lstat as lstatNs,
  nsTimes as NS_TIMES,
  stat as statNs,
  supported as xattrsSupported,
} from "../platform/mod.ts";
import { FileSaverPool, poolInit } from "./file_saver_pool.ts";
import { Chunker, gearTable } from "../chunker/mod.ts";
import { chunkStream } from "./_stream_reader.ts";
import { addFlags, addXattrs, nodeFromInfo, unchanged } from "./_node.ts";
import {
  type ParentTree,
  ParentTrees,
  PREFETCH_CHILDREN,
  PREFETCH_TREES,
  sameNode,
} from "./_parent_trees.ts";
import {
  type DirCache,
  dirCacheKey,
  type DirCacheScope,
  fingerprint,
  loadDirCache,
  saveDirCache,
} from "./_dir_cache.ts";

/**
 * What a backup needs of a repository, as restic's archiver declares
 * `archiverRepo`: the keys and the chunker, compression and pack settings;
 * the index to skip what is stored and to record what it adds; pack and
 * index writing; the snapshot write; and what its shared lock
 * ({@link LockRepo}) and last check ({@link GuardRepo}) need. `Repository`
 * is one.
 */
export interface ArchiverRepo extends LockRepo, GuardRepo, AdoptRepo {
  readonly master: MasterKey;
  readonly config: Pick<RepoConfig, "chunker" | "compression" | "pack_size">;
  readonly index: Pick<
    MasterIndex,
    "has" | "get" | "packs" | "droppedPacks" | "addPack" | "sortedIds"
  >;
  /** Told of damage worked around; one line. */
  readonly onWarning: (message: string) => void;
  /** Rereads the index if its files changed; true if it did. */
  refreshIndex(): Promise<boolean>;
  /** Throws unless every index file could be read. */
  assertIndexWhole(what: string): void;
  newPackWriter(onPack: (p: PackInfo) => void | Promise<void>): PackWriter;
  saveSnapshot(snapshot: Snapshot): Promise<string>;
}

/** What to back up and how; plain data shared by the CLI and job files. */
export interface BackupOptions {
  /** Absolute paths of the sources. */
  paths: string[];
  excludes?: string[];
  /** Exclude patterns that ignore case (`--iexclude`). */
  iexcludes?: string[];
  /** Skip a directory that contains a file of one of these names (`NAME[:HEADER]`, see `hasMarker`). */
  excludeIfPresent?: string[];
  /** Leave out directories tagged with a valid `CACHEDIR.TAG` (`--exclude-caches`). */
  excludeCaches?: boolean;
  /** Leave out regular files larger than this many bytes. */
  excludeLargerThan?: number;
  /** Do not cross into other filesystems below a source. */
  oneFileSystem?: boolean;
  host: string;
  tags?: string[];
  job?: string;
  time?: Date;
  /** The snapshot to compare with, so unchanged files are not read again. */
  parent?: SnapshotWithId;
  /** Worker threads reading files; default: one per core. */
  workers?: number;
  /**
   * Files of at least this many bytes are read and cut by one worker and
   * hashed and packed by all (default: 32 MiB, never with one worker).
   */
  splitFrom?: number;
  signal?: AbortSignal;
  /** Called for each entry that cannot be backed up. */
  onError?: (e: WalkError) => void;
  /** Called for problems that do not make the snapshot incomplete (an unreadable parent tree). */
  onWarning?: (message: string) => void;
  programVersion?: string;
  /** Called once at the start with a function that reads live progress counters. */
  onStart?: (progress: () => BackupProgress) => void;
  /**
   * Count what the sources hold in a worker of its own (see `TreeCounter`),
   * for the totals in {@link BackupProgress}: costs a second listing of the
   * tree, so only for a progress display.
   */
  countTotals?: boolean;
  /** A mirror directory to bring up to date from the same reads; see {@link MirrorSink}. */
  mirror?: MirrorSink;
  /** When to write index files as the backup goes; default {@link INDEX_POLICY}. */
  indexPolicy?: IndexPolicy;
  /** The clock the index policy reads; default `Date.now`. */
  now?: () => number;
  /** Record extended attributes (ACLs, capabilities); default: where the platform can. */
  xattrs?: boolean;
  /**
   * Read block devices as files of the device's size (disk images), instead
   * of recording only the device node.
   */
  readSpecial?: boolean;
  /** Back up this stream as one file instead of `paths`; see {@link StreamSource}. */
  stream?: StreamSource;
  /**
   * A local file for the directory cache (see `_dir_cache.ts`): read when it
   * was written for `parent`, written for the new snapshot. `scope` names
   * the repository and every option that decides what a tree holds.
   */
  dirCache?: { file: string; repo: string };
}

/**
 * A stream backed up as one file, `/NAME` in the snapshot (stdin, or a
 * command's output). `finished` is awaited once the stream has ended and its
 * blobs are stored, before the snapshot is written: if it throws (the command
 * failed), the backup fails and no snapshot is written.
 */
export interface StreamSource {
  /** The file's name in the snapshot: one path element. */
  name: string;
  stream: ReadableStream<Uint8Array>;
  finished?: () => Promise<void>;
}

/** Live counters of a running backup, for progress display. */
export interface BackupProgress {
  files: number;
  dirs: number;
  /** Bytes read, counting the files being read so far. */
  bytesRead: number;
  /** With `readSpecial`: the devices' sizes, to show a percentage and ETA; else 0. */
  bytesExpected: number;
  errors: number;
  currentPath: string;
  /** Bytes of the files done or in progress: read, or unchanged since the parent. */
  bytesDone: number;
  /** With `countTotals`: the files and bytes counted so far; `totalsDone` once complete. */
  filesTotal: number;
  bytesTotal: number;
  totalsDone: boolean;
  /** Files being read now, oldest first. */
  inProgress: string[];
}

export interface BackupResult {
  id: string;
  snapshot: Snapshot;
  summary: BackupSummary;
  errors: WalkError[];
  /** Packs an interrupted run stored but did not index, that this run indexed and reused. */
  packsAdopted: number;
}

/**
 * When the packs stored since the last index file get one of their own, so
 * that a killed run's rerun reuses them (see {@link IndexPolicy}).
 */
export const INDEX_POLICY: IndexPolicy = {
  maxAgeMs: 30_000,
  minPacks: 4,
  maxPacks: 64,
  maxBlobs: 16_384,
};

/**
 * An index file is written for the packs not yet indexed once the oldest of
 * them is `maxAgeMs` old, or they hold as many bytes as every index file this
 * run wrote before (at least `minPacks`, at most `maxPacks` full packs'
 * worth), or `maxBlobs` blobs. Growing with the run, the files stay few on a
 * large backup, while a kill loses at most half of what a run stored, and
 * at most about half a minute of work. `maxBlobs` bounds the main thread's
 * heap where blobs are small: the blobs waiting and their index file's JSON
 * are all in it at once. A million small files peaked at 346–348 MiB with
 * 16,384 against 381–387 with 65,536 (main heap 38–40 MiB used against 60),
 * in 62 index files instead of 16 (restic writes one per 50,000 blobs).
 */
export interface IndexPolicy {
  maxAgeMs: number;
  minPacks: number;
  maxPacks: number;
  maxBlobs: number;
}

/**
 * One backup run: walks the sources on the main thread, hands files to the
 * worker pool, builds and stores a tree per directory, and writes the
 * snapshot last, after every pack it references is durable and indexed.
 */
export class Archiver {
  readonly progress: BackupProgress = {
    files: 0,
    dirs: 0,
    bytesRead: 0,
    bytesExpected: 0,
    errors: 0,
    currentPath: "",
    bytesDone: 0,
    filesTotal: 0,
    bytesTotal: 0,
    totalsDone: false,
    inProgress: [],
  };
  /** Files handed to the pool and not yet saved, in the order they went. */
  readonly #reading = new Set<string>();
  #counter: TreeCounter | undefined;
  readonly #counts = { new: 0, changed: 0, unmodified: 0, bytesAdded: 0, data: 0, tree: 0 };
  readonly #errors: WalkError[] = [];
  readonly #excluder: Excluder;
  /** `excludeIfPresent`, with the cache tag when `excludeCaches`. */
  readonly #markers: string[];
  readonly #treeIds = new Set<string>();
  readonly #hardLinks = new Map<string, Promise<Node | null>>();
  #parents!: ParentTrees;
  /** Packs stored and not yet in an index file, their blobs and bytes, and when the first was stored. */
  /**
   * Read xattrs and inode flags (both left out by `--no-xattrs`); and whether
   * the parent's nodes may stand in for an unchanged
   * entry's: only for an entry whose ctime lies in a whole second before the
   * parent run started (`reuseBeforeMs`), since Deno gives ctime in seconds and
   * a change in the second the parent read the entry would not show.
   */
  readonly #xattrs: { read: boolean; reuse: boolean; reuseFlags: boolean; reuseBeforeMs: number };
  /** When this run started, by the real clock (see {@link Snapshot.started}). */
  readonly #startedAt = new Date();
  #newPacks: PackInfo[] = [];
  #newBlobs = 0;
  #newBytes = 0;
  #newSince = 0;
  /** Bytes of the packs this run has indexed. */
  #indexedBytes = 0;
  #indexTimer: ReturnType<typeof setTimeout> | undefined;
  #indexWrite: Promise<void> = Promise.resolve();
  /** Packs whose index write failed, for the next one. */
  #unindexed: PackInfo[] = [];
  #poolInstance: FileSaverPool | undefined;
  #trees!: PackWriter;
  #rootDevs = new Set<number>();
  /** Lists directories ahead of the walk in a worker; see {@link DirLister}. */
  #lister: DirLister | undefined;
  #guard: SnapshotGuard | undefined;
  /** The parent's directory cache, when one was written for it (see `_dir_cache.ts`). */
  #dirCache: DirCache | undefined;
  /** This run's directories for the next run's cache (path, fingerprint, tree), when it writes one. */
  #newDirs: [string, string, string][] | undefined;
  /** Hard-linked files counted in directories the cache kept (see {@link #countUnchanged}). */
  readonly #linksCounted = new Set<string>();
  /** Index files this run wrote. */
  readonly #wroteIndex: string[] = [];

  /**
   * The parent's times and this run's differ in precision (one of them had
   * only Deno's milliseconds): times are compared at the coarser one.
   */
  readonly #coarseParent: boolean;

  constructor(private readonly repo: ArchiverRepo, private readonly opts: BackupOptions) {
    this.#coarseParent = (opts.parent?.ns_times === true) !== NS_TIMES;
    this.#excluder = new Excluder(opts.excludes ?? [], opts.iexcludes ?? []);
    this.#markers = [...opts.excludeIfPresent ?? [], ...(opts.excludeCaches ? [CACHEDIR_TAG] : [])];
    const read = (opts.xattrs ?? true) && xattrsSupported;
    const parentStart = opts.parent?.started ? Date.parse(opts.parent.started) : NaN;
    this.#xattrs = {
      read,
      reuse: read && opts.parent?.xattrs === true && Number.isFinite(parentStart),
      reuseFlags: read && opts.parent?.flags === true && Number.isFinite(parentStart),
      reuseBeforeMs: Math.floor(parentStart / 1000) * 1000,
    };
  }

  /**
   * Runs the backup and writes the snapshot, holding a shared lock all the
   * while: prune drops nothing while it is live and never deletes a pack it
   * dropped after the lock was taken, and the index is reread if it changed
   * before then, so this run never reuses a blob that a prune may delete
   * before the snapshot is written (docs/PRUNE.md rules 4 and 5). Before the
   * snapshot is written, {@link SnapshotGuard} checks that it holds whatever
   * happened meanwhile (rule 8).
   */
  async run(): Promise<BackupResult> {
    // The lock names this machine, not the snapshot's host: its pid is checked here.
    const lock = await acquireSharedLock(this.repo, { onWarning: this.repo.onWarning });
    let result: BackupResult;
    try {
      // The lock's storage time (for adopting) is asked while the index is reread.
      const lockStat = this.repo.backend.stat("locks", lock.name, { signal: this.opts.signal });
      lockStat.catch(() => {}); // awaited in #adopt, unless the index fails first
      await this.repo.refreshIndex();
      this.repo.assertIndexWhole("a backup");
      await this.#adopt(lockStat);
      this.#guard = new SnapshotGuard(this.repo);
      await this.#loadDirCache();
      result = await this.#run();
    } catch (err) {
      // The run's own error is the one to report, not a lock left behind.
      await releaseLock(lock).catch(() => {});
      throw err;
    }
    await releaseLock(lock);
    return result;
  }

  /**
   * Indexes the complete packs an interrupted run left unindexed, so this
   * run reuses them (see {@link adoptPacks}); ages go by the storage's
   * clock, read from this run's fresh lock file.
   */
  async #adopt(lockStat: Promise<{ mtimeMs?: number }>): Promise<void> {
    const { repo, opts } = this;
    const { mtimeMs } = await lockStat;
    const adopted = await adoptPacks(repo, {
      now: mtimeMs ?? Date.now(),
      signal: opts.signal,
      onWarning: opts.onWarning,
    });
    this.#adopted = adopted.packs;
  }

  #adopted = 0;

  /** What a directory cache must have been written under: the repository, sources and selection. */
  #dirScope(): DirCacheScope | undefined {
    const { opts } = this;
    if (!opts.dirCache || opts.mirror || opts.readSpecial || opts.stream) return undefined;
    const options = JSON.stringify([
      opts.paths.map((p) => resolve(p)).sort(),
      opts.excludes ?? [],
      opts.iexcludes ?? [],
      this.#markers,
      opts.excludeLargerThan ?? null,
      opts.oneFileSystem === true,
      this.#xattrs.read,
      NS_TIMES,
    ]);
    return { repo: opts.dirCache.repo, options };
  }

  async #loadDirCache(): Promise<void> {
    const scope = this.#dirScope();
    if (!scope) return;
    this.#newDirs = [];
    const parent = this.opts.parent;
    if (!parent || this.#coarseParent) return;
    const key = dirCacheKey(this.repo.master.id);
    this.#dirCache = await loadDirCache(
      this.opts.dirCache!.file,
      key,
      scope,
      parent.id,
      this.repo.indexFiles,
    );
  }

  /**
   * Writes the directory cache for snapshot `id`, only after a run without
   * errors (a tree that left out an unreadable entry must not be reused
   * without looking again) that adopted no packs; failing to is no error.
   */
  async #saveDirCache(id: string): Promise<void> {
    const scope = this.#dirScope();
    if (!scope || !this.#newDirs || this.#errors.length > 0 || this.#adopted > 0) return;
    try {
      await saveDirCache(
        this.opts.dirCache!.file,
        dirCacheKey(this.repo.master.id),
        scope,
        id,
        [...this.repo.indexFiles, ...this.#wroteIndex],
        this.#newDirs,
      );
    } catch {
      // Only the next run's speed depends on it.
    }
  }

  async #run(): Promise<BackupResult> {
    const started = performance.now();
    const { repo, opts } = this;
    opts.onStart?.(() => this.#liveProgress());
    this.#trees = repo.newPackWriter((p) => this.#onPack(p));
    this.#parents = new ParentTrees(
      repo,
      (id, err) =>
        opts.onWarning?.(
          `parent snapshot: tree ${
            id.slice(0, 8)
          } cannot be read, so its files are read again: ${err.message}`,
        ),
      this.#dirCache ? 0 : undefined,
    );
    let tree: string;
    try {
      const parentTree = opts.parent?.tree;
      tree = opts.stream
        ? await this.#saveStream(opts.stream)
        : await this.#saveRoot(opts.paths.map((p) => resolve(p)), parentTree);
      await this.#poolInstance?.finish();
      await this.#trees.flush();
      await this.#flushIndex();
    } catch (err) {
      await this.#stop();
      throw err;
    } finally {
      this.#lister?.close();
      this.#counter?.close();
      clearTimeout(this.#indexTimer);
    }

    const summary: BackupSummary = {
      files_new: this.#counts.new,
      files_changed: this.#counts.changed,
      files_unmodified: this.#counts.unmodified,
      dirs: this.progress.dirs,
      bytes_read: this.progress.bytesRead,
      bytes_added: this.#counts.bytesAdded,
      data_blobs: this.#counts.data,
      tree_blobs: this.#counts.tree,
      errors: this.#errors.length,
      duration_s: 0,
    };
    const snapshot: Snapshot = {
      time: (opts.time ?? new Date()).toISOString(),
      tree,
      paths: opts.stream ? [sep + opts.stream.name] : opts.paths.map((p) => resolve(p)),
      host: opts.host,
      username: Deno.env.get("USER") ?? "",
      uid: Deno.uid() ?? undefined,
      gid: Deno.gid() ?? undefined,
      tags: opts.tags ?? [],
      program_version: opts.programVersion ?? "cairn",
      summary,
    };
    if (opts.job) snapshot.job = opts.job;
    if (opts.parent) snapshot.parent = opts.parent.id;
    if (opts.excludes?.length) snapshot.excludes = opts.excludes;
    if (this.#errors.length > 0) snapshot.incomplete = { errors: this.#errors.length };
    if (this.#xattrs.read) snapshot.xattrs = true;
    if (this.#xattrs.read) snapshot.flags = true;
    if (NS_TIMES) snapshot.ns_times = true;
    snapshot.started = this.#startedAt.toISOString();
    summary.duration_s = Math.round(performance.now() - started) / 1000;
    await this.#guard?.verify(tree, opts.signal);
    const id = await repo.saveSnapshot(snapshot);
    await this.#saveDirCache(id);
    return { id, snapshot, summary, errors: this.#errors, packsAdopted: this.#adopted };
  }

  /** The counters, with the totals and the files being read brought up to date. */
  #liveProgress(): BackupProgress {
    const p = this.progress;
    p.bytesDone = p.bytesRead + this.#bytesUnchanged;
    const t = this.#counter?.totals;
    if (t) [p.filesTotal, p.bytesTotal, p.totalsDone] = [t.files, t.bytes, t.done];
    p.inProgress = [...this.#reading].slice(0, 4);
    return p;
  }

  #bytesUnchanged = 0;

  /**
   * The worker pool, started on first use: a backup where nothing changed
   * reads no file and should not pay for starting threads.
   */
  get #pool(): FileSaverPool {
    if (!this.#poolInstance) {
      const { repo, opts } = this;
      const workers = opts.workers ?? defaultWorkers(opts.mirror !== undefined);
      this.#poolInstance = new FileSaverPool(
        workers,
        poolInit(repo, opts.mirror?.writerModule),
        async (pack, bytes) => {
          // The signal lets a remote backend give up an upload on an interrupt.
          // A pack's name is its SHA-256, which S3 would otherwise compute again to sign it.
          await repo.backend.save("data", pack.name, bytes, {
            signal: opts.signal,
            sha256: pack.name,
          });
          this.#onPack(pack);
        },
        {
          signal: opts.signal,
          onRead: (n) => (this.progress.bytesRead += n),
          splitFrom: opts.splitFrom,
        },
      );
    }
    return this.#poolInstance;
  }

  /**
   * The walk must wait for the workers: reading and chunking, not listing,
   * bound this backup now, and a lister thread would only take CPU from
   * them (a first backup of the Linux tree took 6% longer with it), so the
   * walk lists directories itself from here on, and tells the mirror so.
   */
  #waitForRoom(pool: FileSaverPool): Promise<void> {
    if (this.#lister) {
      this.#lister.close();
      this.#lister = undefined;
      this.opts.mirror?.saturated?.();
    }
    return pool.room();
  }

  /** Records a durable pack; indexes the packs waiting when the policy says so. */
  #onPack(p: PackInfo): void {
    this.repo.index.addPack(p);
    this.#counts.bytesAdded += p.size;
    for (const b of p.blobs) this.#counts[b.type]++;
    const now = this.#now();
    if (this.#newPacks.length === 0) {
      this.#newSince = now;
      // A pack stored before a long stretch of unchanged files is indexed
      // too, not only when the next pack comes.
      const timer = setTimeout(() => this.#flushIndexSoon(), this.#policy.maxAgeMs);
      Deno.unrefTimer(timer);
      this.#indexTimer = timer;
    }
    this.#newPacks.push(p);
    this.#newBlobs += p.blobs.length;
    this.#newBytes += p.size;
    if (this.#indexDue(now)) this.#flushIndexSoon();
  }

  get #policy(): IndexPolicy {
    return this.opts.indexPolicy ?? INDEX_POLICY;
  }

  #now(): number {
    return (this.opts.now ?? Date.now)();
  }

  #indexDue(now: number): boolean {
    const policy = this.#policy;
    const pack = this.repo.config.pack_size;
    const due = Math.min(
      Math.max(this.#indexedBytes, policy.minPacks * pack),
      policy.maxPacks * pack,
    );
    return this.#newBytes >= due || this.#newPacks.length >= policy.maxPacks ||
      this.#newBlobs >= policy.maxBlobs || now - this.#newSince >= policy.maxAgeMs;
  }

  /**
   * After a failure or an abort: stops the workers and waits for the pack
   * writes under way, then indexes every pack that became durable, so a
   * rerun reuses them and nothing is written once the lock is released.
   * Errors here are dropped: the one that stopped the backup is reported.
   */
  async #stop(): Promise<void> {
    await this.#poolInstance?.close();
    await this.#trees?.drain().catch(() => {});
    await this.#flushIndex().catch(() => {});
  }

  /**
   * Writes the packs stored so far to a new index file. Writes are
   * serialised; one that fails leaves its packs for the next, so only the
   * last write's failure (awaited at the end) fails the backup.
   */
  #flushIndex(): Promise<void> {
    const packs = this.#newPacks;
    clearTimeout(this.#indexTimer);
    this.#indexTimer = undefined;
    this.#newPacks = [];
    this.#newBlobs = 0;
    this.#newBytes = 0;
    for (const p of packs) this.#indexedBytes += p.size;
    const write = this.#indexWrite.then(async () => {
      const todo = this.#unindexed.concat(packs);
      this.#unindexed = [];
      if (todo.length === 0) return;
      let name: string;
      try {
        name = await saveIndexFile(this.repo.backend, this.repo.master.enc, todo);
      } catch (err) {
        this.#unindexed = todo;
        throw err;
      }
      this.#guard?.wrote(name);
      this.#wroteIndex.push(name);
      this.#counts.bytesAdded += (await this.repo.backend.stat("index", name)).size;
    });
    this.#indexWrite = write.catch(() => {});
    return write;
  }

  /** An index write while the backup goes on: a failure is retried by the next one. */
  #flushIndexSoon(): void {
    this.#flushIndex().catch(() => {});
  }

  #error(path: string, message: string): void {
    const e = { path, message };
    this.#errors.push(e);
    this.progress.errors++;
    this.opts.onError?.(e);
  }

  /**
   * The root tree holds each source under its full path (`/home/ann` is
   * stored as `home` → `ann`), so sources with equal names never collide.
   *
   * A path is recorded as given: each directory above a source is stored as
   * the directory it leads to (`stat`, following links), so a source reached
   * through a symlinked ancestor (`/lib/os-release` where `/lib -> usr/lib`)
   * restores under the same path as real directories. Only a source itself
   * is taken as it is (`lstat`): a source that is a symlink is saved as the
   * link. A source below another source that is a symlink cannot be stored
   * beside that link, and is reported rather than silently dropped.
   */
  async #saveRoot(paths: string[], parentTree: string | undefined): Promise<string> {
    type VDir = Map<string, VDir | null>;
    const root: VDir = new Map();
    const sources = [...new Set(paths)].sort();
    const symlinkSources = new Set<string>();
    const missing: string[] = [];
    for (const p of sources) {
      try {
        const info = byteFs.lstatSync(p);
        this.#rootDevs.add(info.dev ?? 0);
        if (info.isSymlink) symlinkSources.add(p);
      } catch (err) {
        missing.push(`${p}: ${(err as Error).message}`); // one of many: reported when saved
      }
    }
    // Not one source to read: an empty "partial" snapshot would only hide that nothing is backed up.
    if (missing.length === sources.length) {
      throw new Error(`none of the sources can be read (${missing.join("; ")})`);
    }
    if (this.opts.countTotals) {
      this.#counter = new TreeCounter(sources, {
        excludes: this.opts.excludes,
        iexcludes: this.opts.iexcludes,
        excludeIfPresent: this.#markers,
        devs: this.opts.oneFileSystem ? [...this.#rootDevs] : undefined,
        largerThan: this.opts.excludeLargerThan,
      });
    }
    this.#lister = new DirLister({
      excludes: this.opts.excludes,
      iexcludes: this.opts.iexcludes,
      excludeIfPresent: this.#markers,
      devs: this.opts.oneFileSystem ? [...this.#rootDevs] : undefined,
    });
    // `/` itself is a source: its listing is the root tree, and it covers every other source.
    if (sources.includes(sep)) return await this.#saveWholeRoot(parentTree);
    for (const p of sources) {
      const parts = p.split(sep).filter((s) => s !== "");
      let dir = root;
      for (let i = 0; i < parts.length; i++) {
        const last = i === parts.length - 1;
        const next = dir.get(parts[i]);
        if (next === null) { // an ancestor is itself a source
          const ancestor = sep + parts.slice(0, i + 1).join(sep);
          if (symlinkSources.has(ancestor)) {
            this.#error(
              p,
              `not saved: it lies below ${ancestor}, a symlink that is itself a source`,
            );
          }
          break;
        }
        if (last) dir.set(parts[i], null);
        else {
          if (!next) dir.set(parts[i], new Map());
          dir = dir.get(parts[i])!;
        }
      }
    }
    const saveV = async (
      dir: VDir,
      path: string,
      parent: string | undefined,
      parentMirror: MirrorDir | undefined,
    ): Promise<string> => {
      const old = await this.#parents.nodes(parent);
      const nodes: MaybeNode[] = [];
      const md = await this.#mirrorVirtualDir(parentMirror, path, [...dir.keys()]);
      for (const [name, sub] of [...dir.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const child = path === sep ? sep + name : path + sep + name;
        let info: Deno.FileInfo;
        try {
          info = sub === null ? this.#sourceInfo(child) : statNs(child);
        } catch (err) {
          this.#error(child, (err as Error).message);
          continue;
        }
        if (sub === null) {
          if (info.isDirectory) this.#lister?.walk(child);
          let d = this.#entry(name, child, info, old.get(name), undefined, md);
          if (d instanceof Promise) d = await d;
          nodes.push(d.node);
        } else if (!info.isDirectory) {
          this.#error(child, "not a directory, so the sources below it cannot be saved");
        } else {
          const node = nodeFromInfo(name, info);
          if (this.#xattrs.read) this.#addXattrs(node, child, old.get(name));
          node.subtree = await saveV(sub, child, old.get(name)?.subtree, md);
          nodes.push(node);
        }
      }
      md?.done();
      return await this.#saveTree(nodes);
    };
    return await saveV(root, sep, parentTree, undefined);
  }

  /**
   * A stream as the root tree's only file. It is cut on this thread, which
   * receives it, and its chunks are hashed and packed by the workers.
   */
  async #saveStream(src: StreamSource): Promise<string> {
    const { repo } = this;
    const params = repo.config.chunker;
    const chunker = new Chunker(gearTable(repo.master.chunker), params);
    const saver = this.#pool.stream();
    const reader = src.stream.getReader();
    this.progress.files = 1;
    this.progress.currentPath = sep + src.name;
    let size: number;
    let content: string[];
    try {
      size = await chunkStream(reader, new Uint8Array(params.max), chunker, (chunk) => {
        this.opts.signal?.throwIfAborted();
        return saver.add(chunk);
      }, (n) => (this.progress.bytesRead = n));
      content = await saver.end();
    } catch (err) {
      await reader.cancel().catch(() => {});
      throw err;
    } finally {
      reader.releaseLock();
    }
    await src.finished?.();
    this.#counts.new++;
    const now = dateToNs(new Date());
    const node: Node = {
      name: src.name,
      type: "file",
      mode: 0o644,
      uid: Deno.uid() ?? 0,
      gid: Deno.gid() ?? 0,
      mtime: now,
      ctime: now,
      inode: 0,
      dev: 0,
      links: 1,
      size,
      content,
    };
    return this.#treeId([node]);
  }

  /** A backup of `/`: the root tree is the listing of `/` itself. */
  async #saveWholeRoot(parentTree: string | undefined): Promise<string> {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(sep);
    } catch (err) {
      throw new Error(`cannot read ${sep}: ${(err as Error).message}`);
    }
    this.#lister?.walk(sep);
    const root = nodeFromInfo(sep, info);
    const d = await this.#walkDir(root, sep, info, parentTree, undefined, undefined);
    const node = await d.node;
    if (!node?.subtree) throw new Error(`cannot list ${sep}`);
    return node.subtree;
  }

  /**
   * Records the entry's xattrs and inode flags; a failure to read the
   * xattrs is the entry's error (flags that cannot be read are none).
   */
  #addXattrs(node: Node, path: string, old: Node | undefined): void {
    const settled = nsToMs(node.ctime) < this.#xattrs.reuseBeforeMs;
    addFlags(node, path, settled && this.#xattrs.reuseFlags ? old : undefined, this.#coarseParent);
    try {
      addXattrs(node, path, settled && this.#xattrs.reuse ? old : undefined, this.#coarseParent);
    } catch (err) {
      this.#error(path, `extended attributes not saved: ${(err as Error).message}`);
    }
  }

  /** The mirror directory of the source directory `path`: its mirrored parent's subdirectory, or a root. */
  #mirrorDir(
    parent: MirrorDir | undefined,
    path: string,
    entry: MirrorEntry,
    names: readonly string[],
  ): MirrorDir | undefined | Promise<MirrorDir | undefined> {
    if (parent) return parent.subdir(path.slice(path.lastIndexOf(sep) + 1), entry, names);
    return this.opts.mirror!.root(path, entry, names);
  }

  /** The mirror directory of a directory above the sources (it holds only sources). */
  #mirrorVirtualDir(
    parent: MirrorDir | undefined,
    path: string,
    names: string[],
  ): MirrorDir | undefined | Promise<MirrorDir | undefined> {
    const mirror = this.opts.mirror;
    if (!mirror) return undefined;
    let info: Deno.FileInfo;
    try {
      info = statNs(path); // as the tree records it: the directory a link leads to
    } catch {
      return undefined; // reported when its entries are saved
    }
    return this.#mirrorDir(parent, path, mirrorEntry(info), names);
  }

  /**
   * The id of the tree of `nodes`, stored if new: at once when every node
   * is known (an unchanged directory's are), else once they all are.
   */
  #saveTree(nodes: MaybeNode[], old?: ParentTree): string | Promise<string> {
    if (!nodes.some((n) => n instanceof Promise)) {
      return this.#treeId(nodes as (Node | null)[], old);
    }
    return Promise.all(nodes).then((all) => this.#treeId(all, old));
  }

  #treeId(all: (Node | null)[], old?: ParentTree): string {
    const tree: Tree = { nodes: all.filter((n): n is Node => n !== null) };
    // A directory whose every entry is unchanged keeps its parent's tree:
    // comparing fields is far cheaper than encoding and hashing it again.
    if (
      old?.id && old.size === tree.nodes.length &&
      tree.nodes.every((n) => sameNode(n, old.get(n.name)))
    ) return old.id;
    const bytes = encodeTree(tree);
    const id = toHex(keyedId(this.repo.master.id, bytes));
    if (!this.#treeIds.has(id) && !this.repo.index.has(id)) {
      this.#treeIds.add(id);
      this.#trees.add("tree", id, bytes);
    }
    return id;
  }

  /**
   * Visits one entry. The walk is depth first and one entry at a time, so
   * what it holds is the current path plus the files the pool is working
   * on: returning (synchronously when possible, to spare an event-loop
   * turn per file) means the entry is walked; its node completes later.
   */
  #entry(
    name: string,
    path: string,
    info: Deno.FileInfo,
    old: Node | undefined,
    oldTree: Promise<ParentTree> | undefined,
    md: MirrorDir | undefined,
  ): Deferred | Promise<Deferred> {
    this.opts.signal?.throwIfAborted();
    const node = nodeFromInfo(name, info);
    if (this.#xattrs.read) this.#addXattrs(node, path, old);
    if (node.type === "blockdev" && this.opts.readSpecial) {
      return this.#device(node, path, info, old, md);
    }
    switch (node.type) {
      case "file":
        return this.#file(node, path, info, old, md);
      case "dir":
        return this.#walkDir(
          node,
          path,
          info,
          old?.type === "dir" ? old.subtree : undefined,
          oldTree,
          md,
        );
      case "symlink":
        try {
          node.target = byteFs.readLinkSync(path);
        } catch (err) {
          this.#error(path, (err as Error).message);
          return done(null);
        }
        md?.symlink(name, node.target, mirrorEntry(info, node.xattrs, node.flags));
        return done(node);
      default:
        return done(node);
    }
  }

  /**
   * Walks a directory whose tree in the parent snapshot is `oldId` (its
   * nodes loaded as `oldTree` when the caller started loading them). When
   * the directory cache has its listing's fingerprint for that tree, its
   * subdirectories are walked first, and if each keeps its tree, so does
   * this one, without its parent tree being loaded; else it is walked as
   * any other, with the subdirectories already walked.
   */
  async #walkDir(
    node: Node,
    path: string,
    info: Deno.FileInfo,
    oldId: string | undefined,
    oldTree: Promise<ParentTree> | undefined,
    parentMirror: MirrorDir | undefined,
  ): Promise<Deferred> {
    this.progress.dirs++;
    this.progress.currentPath = path;
    const nodes: MaybeNode[] = [];
    const crossing = this.opts.oneFileSystem && !this.#rootDevs.has(info.dev ?? 0);
    const mirror = this.opts.mirror;
    let md: MirrorDir | undefined;
    let oldNodes: ParentTree | undefined;
    let print: { fp: string; settled: boolean } | undefined;
    const entry = mirrorEntry(info, node.xattrs, node.flags);
    if (crossing && mirror) md = await this.#mirrorDir(parentMirror, path, entry, []);
    if (!crossing) {
      let listing;
      try {
        listing = (await this.#lister?.take(path)) ?? listDir(path);
      } catch (err) {
        this.#error(path, (err as Error).message);
        return done(null);
      }
      for (const e of listing.errors) this.#error(e.path, e.message);
      const marker = this.#markers;
      if (marker.length && hasMarker(path, listing.entries.map((e) => e.name), marker)) {
        parentMirror?.drop(node.name);
        return done(null);
      }
      if (this.#newDirs && listing.errors.length === 0) {
        print = fingerprint(listing.entries, this.#settledBeforeMs);
      }
      const larger = this.opts.excludeLargerThan;
      const kids = listing.entries.filter((e) =>
        !this.#excluder.excludes(e.path) &&
        !(larger !== undefined && e.info.isFile && e.info.size > larger)
      );
      const cache = this.#dirCache;
      // Subdirectories walked ahead, by index, when the cache has this listing.
      const walked: Deferred[] = [];
      if (cache && print && cache.hit(path, print.fp, oldId) && this.repo.index.has(oldId!)) {
        let same = true;
        for (let i = 0; i < kids.length && same; i++) {
          const e = kids[i];
          if (!e.info.isDirectory) continue;
          const subId = cache.tree(e.path);
          if (subId === undefined) break; // walked below, with the parent's node
          const d = await this.#walkDir(
            nodeFromInfo(e.name, e.info),
            e.path,
            e.info,
            subId,
            undefined,
            undefined,
          );
          walked[i] = d;
          const n = d.node;
          if (n instanceof Promise) n.catch(() => {});
          same = n !== null && !(n instanceof Promise) && n.subtree === subId;
        }
        if (same && this.#walkedAll(kids, walked)) {
          this.#countUnchanged(kids);
          node.subtree = oldId;
          if (print.settled) this.#newDirs!.push([path, print.fp, oldId!]);
          return { node };
        }
      }
      // A directory the cache did not keep: its subdirectories are likely
      // to have changed too (an update), so their trees are loaded ahead.
      const old = oldNodes = await (oldTree ?? this.#parents.nodes(oldId, PREFETCH_CHILDREN));
      if (mirror) {
        md = await this.#mirrorDir(parentMirror, path, entry, kids.map((e) => e.name));
      }
      // Load the parent snapshot's trees of the next few subdirectories while
      // walking this one, so the sequential walk rarely waits on a decrypt.
      const prefetched = new Map<number, Promise<ParentTree>>();
      const prefetch = (i: number) => {
        const e = kids[i];
        if (!e || !e.info.isDirectory || prefetched.has(i) || walked[i]) return;
        const o = old.get(e.name);
        const id = o?.type === "dir" ? o.subtree : undefined;
        prefetched.set(i, this.#parents.nodes(id, PREFETCH_CHILDREN));
      };
      for (let i = 0; i < kids.length; i++) {
        for (let j = i; j < i + PREFETCH_TREES; j++) prefetch(j);
        const e = kids[i];
        const ahead = walked[i];
        if (ahead) {
          nodes.push(this.#walkedNode(e.name, e.path, e.info, old.get(e.name), ahead));
          continue;
        }
        let d = this.#entry(e.name, e.path, e.info, old.get(e.name), prefetched.get(i), md);
        if (d instanceof Promise) d = await d;
        prefetched.delete(i);
        // Failures surface from Promise.all in #saveTree.
        if (d.node instanceof Promise) d.node.catch(() => {});
        nodes.push(d.node);
      }
    }
    md?.done();
    const id = this.#saveTree(nodes, oldNodes);
    const record = (id: string) => {
      if (print?.settled) this.#newDirs!.push([path, print.fp, id]);
    };
    if (!(id instanceof Promise)) {
      record(id);
      node.subtree = id;
      return { node };
    }
    return {
      node: id.then((id) => {
        record(id);
        node.subtree = id;
        return node;
      }),
    };
  }

  /** When this run's entries count as settled: before the whole second it started in. */
  get #settledBeforeMs(): number {
    return Math.floor(this.#startedAt.getTime() / 1000) * 1000;
  }

  /** Were all of `kids`' subdirectories walked ahead? */
  #walkedAll(kids: readonly DirEntry[], walked: readonly Deferred[]): boolean {
    for (let i = 0; i < kids.length; i++) if (kids[i].info.isDirectory && !walked[i]) return false;
    return true;
  }

  /** Counts a cached directory's files as unchanged, as {@link #file} would (a hard link once). */
  #countUnchanged(kids: readonly DirEntry[]): void {
    for (const e of kids) {
      if (!e.info.isFile) continue;
      if ((e.info.nlink ?? 1) > 1) {
        const key = `${e.info.dev}:${e.info.ino}`;
        if (this.#hardLinks.has(key) || this.#linksCounted.has(key)) continue;
        this.#linksCounted.add(key);
      }
      this.progress.files++;
      this.#counts.unmodified++;
      this.#bytesUnchanged += e.info.size;
    }
  }

  /** The node of a subdirectory walked ahead of its directory, with its xattrs and flags. */
  #walkedNode(
    name: string,
    path: string,
    info: Deno.FileInfo,
    old: Node | undefined,
    walked: Deferred,
  ): MaybeNode {
    const node = nodeFromInfo(name, info);
    if (this.#xattrs.read) this.#addXattrs(node, path, old);
    const n = walked.node;
    if (n === null) return null;
    if (!(n instanceof Promise)) {
      node.subtree = n.subtree;
      return node;
    }
    const later = n.then((n) => n && Object.assign(node, { subtree: n.subtree }));
    later.catch(() => {});
    return later;
  }

  #file(
    node: Node,
    path: string,
    info: Deno.FileInfo,
    old: Node | undefined,
    md: MirrorDir | undefined,
    volatileOld?: Node,
  ): Deferred | Promise<Deferred> {
    const linked = (info.nlink ?? 1) > 1;
    const key = linked ? `${info.dev}:${info.ino}` : "";
    // Asked before the hard-link shortcut: the mirror links the other names itself.
    const entry = mirrorEntry(info, node.xattrs, node.flags);
    if (volatileOld) entry.volatile = true;
    const target = md?.file(node.name, entry, parentFile(old ?? volatileOld));
    if (linked) {
      const first = this.#hardLinks.get(key);
      if (first) return { node: first.then((n) => (n ? { ...n, name: node.name } : null)) };
    }
    // Another name of a file already counted in a directory the cache kept.
    const counted = linked && this.#linksCounted.has(key);
    if (!counted) this.progress.files++;
    if (unchanged(node, old, info.size, this.#coarseParent) && this.#allStored(old!.content!)) {
      if (!counted) {
        this.#counts.unmodified++;
        this.#bytesUnchanged += info.size;
      }
      node.size = old!.size;
      node.content = old!.content;
      if (linked) this.#hardLinks.set(key, Promise.resolve(node));
      if (target) return this.#mirrorOnly(path, info.size, target, node);
      return done(node);
    }
    const pool = this.#pool;
    const start = (): Deferred => {
      const job = target ? { path, size: info.size, mirror: target } : { path, size: info.size };
      this.#reading.add(path);
      const saved = pool.save(job).then((result) => {
        this.#reading.delete(path);
        if (target) {
          const error = result.ok ? result.mirrorError : result.error;
          const retimed = result.ok && result.mirrorRetimed === true;
          const warnings = result.ok ? result.mirrorWarnings : undefined;
          this.opts.mirror!.written(target, result.ok ? result.size : 0, error, retimed, warnings);
        }
        if (!result.ok) {
          this.#error(path, result.error);
          return null;
        }
        if (result.changed) {
          this.#error(path, "changed while it was read, twice: stored as last read, maybe torn");
        }
        if (old?.type === "file") this.#counts.changed++;
        else this.#counts.new++;
        this.progress.bytesRead += result.size - (result.reported ?? 0);
        node.size = result.size;
        node.content = result.content;
        return node;
      });
      if (linked) this.#hardLinks.set(key, saved);
      return { node: saved };
    };
    // Wait only when the pool is full: that wait is what bounds the walk.
    return pool.hasRoom() ? start() : this.#waitForRoom(pool).then(start);
  }

  /** Are all these blobs in the index? */
  #allStored(ids: readonly string[]): boolean {
    const index = this.repo.index;
    for (let i = 0; i < ids.length; i++) if (!index.has(ids[i])) return false;
    return true;
  }

  /**
   * A source as it is (lstat), except that with `readSpecial` a source that
   * is a symlink to a block device (`/dev/vg0/snap`, `/dev/disk/by-id/…`)
   * stands for the device: that is what the user asked to image.
   */
  #sourceInfo(path: string): Deno.FileInfo | FileStat {
    const info = lstatNs(path);
    if (!this.opts.readSpecial || !info.isSymlink) return info;
    try {
      const target = Deno.statSync(path);
      return target.isBlockDevice ? target : info;
    } catch {
      return info;
    }
  }

  /**
   * A block device read as a file of the device's size (`readSpecial`). It
   * is always read: a device node's times do not move when its blocks are
   * written, so the parent's node says nothing. The chunker cuts all-zero
   * regions into equal max-size chunks, so they are stored once, and a
   * restore writes them back as holes.
   */
  #device(
    node: Node,
    path: string,
    info: Deno.FileInfo,
    old: Node | undefined,
    md: MirrorDir | undefined,
  ): Deferred | Promise<Deferred> {
    let size: number;
    try {
      using f = Deno.openSync(path, { read: true });
      size = f.seekSync(0, Deno.SeekMode.End);
    } catch (err) {
      this.#error(path, (err as Error).message);
      return done(null);
    }
    this.progress.bytesExpected += size;
    node.type = "file";
    delete node.rdev;
    node.links = 1;
    // Spelled out: the lister's stat keeps its Dates and atimeNs in getters, which a spread drops.
    const stat = info as Deno.FileInfo & { atimeNs?: string };
    const copy = {
      ...info,
      mtime: info.mtime,
      atime: info.atime,
      ctime: info.ctime,
      birthtime: info.birthtime,
      atimeNs: stat.atimeNs,
      size,
      nlink: 1,
    };
    // Not compared with `old` (its times say nothing), but a mirror holding old's
    // bytes is only retimed when the bytes read turn out the same.
    return this.#file(node, path, copy, undefined, md, old);
  }

  /**
   * A file the chunk store already has but the mirror lacks: a worker copies
   * it without chunking or hashing, since the hashes would change nothing.
   */
  #mirrorOnly(
    path: string,
    size: number,
    target: MirrorTarget,
    node: Node,
  ): Deferred | Promise<Deferred> {
    const pool = this.#pool;
    const start = (): Deferred => {
      pool.save({ path, size, mirror: target, mirrorOnly: true }).then(
        (r) =>
          this.opts.mirror!.written(
            target,
            r.ok ? r.size : 0,
            r.ok ? r.mirrorError : r.error,
            false,
            r.ok ? r.mirrorWarnings : undefined,
          ),
        () => {}, // the pool's failure surfaces from finish()
      );
      return done(node);
    };
    return pool.hasRoom() ? start() : this.#waitForRoom(pool).then(start);
  }
}

/**
 * Milliseconds of a nanosecond time, as `nsToDate` gives them, without its
 * BigInt for the usual positive time (this runs once per entry).
 */
function nsToMs(ns: string): number {
  return ns.length > 6 && ns[0] !== "-" ? Number(ns.slice(0, -6)) : nsToDate(ns).getTime();
}

/**
 * A node, or its promise while its content is being stored: an unchanged
 * entry's is known at once, and a promise per entry (and Promise.all's
 * reactions over them) was garbage an unchanged rerun made 83,000 times.
 */
type MaybeNode = Node | null | Promise<Node | null>;

/** An entry that has been walked; `node` is known, or resolves once its content is stored. */
interface Deferred {
  node: MaybeNode;
}

function done(node: Node | null): Deferred {
  return { node };
}

/** Runs one backup; see {@link Archiver}. */
export function backup(repo: ArchiverRepo, opts: BackupOptions): Promise<BackupResult> {
  return new Archiver(repo, opts).run();
}

/**
 * Worker threads for a backup: one per core, or two per core when a mirror
 * is written too. Writing the mirror throttles a worker whenever the kernel
 * holds back writers with too many dirty pages; with a cold cache that
 * left the cores idle (Linux 6.1.170 with a mirror, page cache dropped:
 * 24.9 s with 2 workers, 16.4 s with 4; with a warm cache no difference,
 * and 4 workers cost about 180 MB more memory, so plain backups keep one
 * per core).
 */
export function defaultWorkers(mirror: boolean): number {
  const cores = Math.max(1, navigator.hardwareConcurrency);
  return Math.min(mirror ? cores * 2 : cores, 8);
}

/**
 * Where the directory cache of backups of `paths` from `host` lives: in the
 * folder `cacheDir` gives for this repository (the local cache folder,
 * `CAIRN_CACHE_DIR`, undefined when it is `off`), one file per set of
 * sources, so backups of other sources do not overwrite it. The same for a
 * `cairn backup` and a job's run, so either reuses the other's.
 */
export function dirCacheFile(
  repoId: string,
  host: string,
  paths: readonly string[],
  cacheDir: (name: string) => string | undefined,
): { file: string; repo: string } | undefined {
  const dir = cacheDir(`dirs:${repoId}`);
  if (!dir) return undefined;
  const which = JSON.stringify([host, [...paths].map((p) => resolve(p)).sort()]);
  const name = toHex(sha256(new TextEncoder().encode(which))).slice(0, 32);
  return { file: `${dir}/dirs-${name}`, repo: repoId };
}
