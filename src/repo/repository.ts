import {
  AlreadyExistsError,
  type Backend,
  isTransientError,
  NotFoundError,
} from "../backend/mod.ts";
import {
  createKeyFile,
  DEFAULT_KDF_PARAMS,
  type KdfParams,
  type MasterKey,
  newMasterKey,
  openParsedKeyFile,
  type ParsedKeyFile,
  parseKeyFile,
  sha256,
  toHex,
  WrongPasswordError,
} from "../crypto/mod.ts";
import {
  type ChunkerParams,
  DEFAULT_CHUNKER_PARAMS,
  validateChunkerParams,
} from "../chunker/mod.ts";
import { extractBlob, openSegment } from "./blob_codec.ts";
import { type BlobType, CorruptError } from "./format.ts";
import { type IndexEntry, loadMasterIndex, mapLimit, MasterIndex } from "./index.ts";
import {
  backendPackStore,
  type PackInfo,
  packKey,
  PackWriter,
  readPackTrailer,
  SEGMENT_ALONE,
} from "./pack.ts";
import { loadSealedJson, saveSealedJson } from "./sealed_file.ts";
import {
  resolveSnapshot,
  type Snapshot,
  type SnapshotWithId,
  validateSnapshot,
} from "./snapshot.ts";
import { decodeTree, type Tree } from "./tree.ts";
import { releaseMemory } from "../platform/mod.ts";
import { encodeSealedJson } from "./sealed_file.ts";
import { type ObjectLockConfig, retainingBackend, validateObjectLock } from "./object_lock.ts";

/** Repository-wide settings, stored encrypted in the `config` file. */
export interface RepoConfig {
  version: typeof FORMAT_VERSION;
  id: string;
  created: string;
  chunker: ChunkerParams;
  /** zstd level for new blobs; 0 disables compression. */
  compression: number;
  /** Target pack size in bytes. */
  pack_size: number;
  /** S3 Object Lock retention every writer applies (object_lock.ts); absent: none. */
  object_lock?: ObjectLockConfig;
}

export interface InitOptions {
  kdf?: KdfParams;
  chunker?: ChunkerParams;
  compression?: number;
  packSize?: number;
  host?: string;
  username?: string;
  /** Store packs, index files and snapshots under S3 Object Lock retention. */
  objectLock?: ObjectLockConfig;
  /**
   * Another repository whose id key, chunker secret and chunk sizes the new
   * one takes (`init --copy-chunker-params`), so the same content gets the
   * same blobs in both and `cairn copy` between them deduplicates. The
   * encryption key stays the new repository's own.
   */
  chunksLike?: { master: Pick<MasterKey, "id" | "chunker">; config: { chunker: ChunkerParams } };
}

/**
 * zstd level for new repositories. On a first backup of the Linux tree here
 * level 3 took 1.56 times as long as level 1 (18.2 s against 11.7 s, same
 * run) for an 8% smaller repository (227 MB against 246 MB).
 */
export const DEFAULT_COMPRESSION = 1;

/**
 * Target pack size for new repositories. 4 MiB measured 560 MB peak memory
 * against 716 MB for 16 MiB packs on a first backup of drivers/ (2 workers).
 */
export const DEFAULT_PACK_SIZE = 4 * 1024 * 1024;

/**
 * Target pack size for new repositories on object storage (`s3:`). A first
 * backup of the Linux tree into Ceph RGW on loopback took 63.0 s with 16 MiB
 * packs against 74.7 s with 4 MiB and 64.9 s with 32 MiB (one round, same
 * run, a loaded 2-core machine), for 662 MiB peak memory against 456 MiB;
 * a pack is one PUT, so this is also a quarter of the requests (which
 * object stores bill). bench/s3_vs_restic.ts --pack-only measures it.
 */
export const DEFAULT_S3_PACK_SIZE = 16 * 1024 * 1024;

/** The pack size a new repository at `location` gets unless told otherwise. */
export function defaultPackSize(location: string): number {
  return location.startsWith("s3:") ? DEFAULT_S3_PACK_SIZE : DEFAULT_PACK_SIZE;
}

/** The repository format this cairn writes and reads (docs/FORMAT.md). */
export const FORMAT_VERSION = 2;

/** Segments of small blobs a repository keeps open for the next read. */
const SEGMENT_CACHE = 16;

export interface OpenOptions {
  /** Called for each key file skipped because it cannot be read or is malformed. */
  onWarning?: (message: string) => void;
}

/** There is no repository where one was expected. */
export class NoRepositoryError extends Error {
  constructor(location: string, options?: ErrorOptions) {
    super(`No repository at ${location}: config file not found (run "cairn init" first?)`, options);
    this.name = "NoRepositoryError";
  }
}

/**
 * A repository was already there when `init` went to create one, possibly
 * made a moment earlier by another host starting at the same time.
 */
export class RepositoryExistsError extends Error {
  constructor(location: string, options?: ErrorOptions) {
    super(`A repository already exists at ${location}; refusing to overwrite it`, options);
    this.name = "RepositoryExistsError";
  }
}

/**
 * An open repository: its keys, config and index, and the operations every
 * command builds on (load blobs and trees, write packs, index files and
 * snapshots). Readers never lock; several writers may work at once because
 * every file is new and named by its content.
 */
export class Repository {
  #packKeys = new Map<string, Promise<CryptoKey>>();
  /** Recently opened segments of small blobs, newest last: restores read their neighbours next. */
  #segments = new Map<string, Promise<Uint8Array>>();
  /** Every index file listed when `index` was loaded, superseded ones too. */
  indexFiles: readonly string[] = [];
  /** Index files that could not be read when `index` was loaded. */
  damagedIndexFiles: readonly string[] = [];
  /**
   * Look for a blob the index does not list in the headers (trailers) of
   * the packs it does not list, once per loaded index. `check` turns it off:
   * it reports such blobs instead.
   */
  readPackHeaders = true;
  #headersRead: Promise<void> | undefined;
  /**
   * The key file this repository was opened (or created) with, and its
   * Argon2 parameters: `cairn key` never removes it, and new keys take them.
   */
  key: { name: string; kdf: KdfParams } = { name: "", kdf: DEFAULT_KDF_PARAMS };
  /** Told of damage worked around (a skipped snapshot or index file); one line, naming the file. */
  onWarning: (message: string) => void = () => {};

  /** The storage; with `object_lock`, one that saves under retention. */
  readonly backend: Backend;

  private constructor(
    backend: Backend,
    readonly master: MasterKey,
    readonly config: RepoConfig,
    public index: MasterIndex,
  ) {
    this.backend = config.object_lock ? retainingBackend(backend, config.object_lock) : backend;
  }

  /**
   * Creates a new repository in an empty backend. The config is written
   * create-only, last: of several inits racing for one location exactly one
   * wins, and each loser removes its key file and throws
   * {@link RepositoryExistsError}, so the repository left behind has one
   * config and only keys that open it.
   */
  static async init(
    backend: Backend,
    password: string,
    opts: InitOptions = {},
  ): Promise<Repository> {
    try {
      await backend.stat("config", "config");
      throw new RepositoryExistsError(backend.location);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    const like = opts.chunksLike;
    const master = like
      ? { ...newMasterKey(), id: like.master.id.slice(), chunker: like.master.chunker.slice() }
      : newMasterKey();
    const config: RepoConfig = {
      version: FORMAT_VERSION,
      id: toHex(crypto.getRandomValues(new Uint8Array(16))),
      created: new Date().toISOString(),
      chunker: validateChunkerParams(
        like?.config.chunker ?? opts.chunker ?? DEFAULT_CHUNKER_PARAMS,
      ),
      compression: opts.compression ?? DEFAULT_COMPRESSION,
      pack_size: opts.packSize ?? defaultPackSize(backend.location),
      ...(opts.objectLock ? { object_lock: validateObjectLock(opts.objectLock) } : {}),
    };
    if (config.object_lock && !backend.retention) {
      throw new TypeError(`Object Lock needs an s3: repository, not ${backend.location}`);
    }
    const keyFile = await createKeyFile(master, password, opts.kdf, opts);
    const keyName = toHex(sha256(keyFile));
    await backend.save("keys", keyName, keyFile);
    const sealed = await encodeSealedJson(master.enc, "config", config);
    try {
      await backend.save("config", "config", sealed, { ifAbsent: true });
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
      await backend.remove("keys", keyName).catch(() => {});
      throw new RepositoryExistsError(backend.location, { cause: err });
    }
    const repo = new Repository(backend, master, config, new MasterIndex());
    repo.key = { name: keyName, kdf: opts.kdf ?? DEFAULT_KDF_PARAMS };
    return repo;
  }

  /**
   * Opens a repository with `password` and loads its index. Every key file
   * is tried: one that cannot be read or is malformed (out-of-bounds
   * parameters, bad JSON) is skipped with a warning naming it, so it
   * cannot keep the right password out.
   */
  static async open(
    backend: Backend,
    password: string,
    opts: OpenOptions = {},
  ): Promise<Repository> {
    try {
      await backend.stat("config", "config");
    } catch (err) {
      if (err instanceof NotFoundError) {
        throw new NoRepositoryError(backend.location, { cause: err });
      }
      throw err;
    }
    // Every key file is read and checked before Argon2 runs on any, so a
    // malformed one is always named, and the cheapest are tried first.
    const skipped: string[] = [];
    let unreachable: unknown;
    const keys: ParsedKeyFile[] = [];
    for await (const k of backend.list("keys")) {
      let bytes: Uint8Array;
      try {
        bytes = await backend.load("keys", k.name);
      } catch (err) {
        // Gone since the listing: a losing init removed its key.
        if (err instanceof NotFoundError) continue;
        // Storage that failed even after retries says nothing about the password.
        if (isTransientError(err)) unreachable ??= err;
        skipped.push(`Key file "${k.name}" cannot be read: ${(err as Error).message}`);
        continue;
      }
      try {
        keys.push(parseKeyFile(bytes, k.name));
      } catch (err) {
        skipped.push((err as Error).message);
      }
    }
    const cost = (k: ParsedKeyFile) => k.params.memoryKiB * k.params.iterations;
    keys.sort((a, b) => cost(a) - cost(b) || (a.name < b.name ? -1 : 1));
    // A key that opens with the password but not the config is a loser's of
    // two racing inits, seen before it removed its key: skip it.
    let master: MasterKey | undefined;
    let opened: ParsedKeyFile | undefined;
    let raw: RepoConfig | undefined;
    let mismatch: unknown;
    for (const k of keys) {
      let candidate: MasterKey;
      try {
        candidate = await openParsedKeyFile(k, password);
      } catch (err) {
        if (!(err instanceof WrongPasswordError)) skipped.push((err as Error).message);
        continue;
      }
      try {
        raw = await loadSealedJson(backend, candidate.enc, "config", "config") as RepoConfig;
      } catch (err) {
        if (!(err instanceof CorruptError)) throw err;
        mismatch ??= err;
        continue;
      }
      master = candidate;
      opened = k;
      break;
    }
    // Argon2's WASM memory (46 MiB by default) is garbage now, unseen by V8.
    releaseMemory();
    if (!master && keys.length === 0 && unreachable) throw unreachable;
    for (const why of skipped) opts.onWarning?.(`skipped a key file: ${why}`);
    if (!master) {
      if (mismatch) throw mismatch;
      const also = skipped.length > 0 ? ` (${skipped.length} key file(s) skipped as unusable)` : "";
      throw new WrongPasswordError(
        `Wrong password: no key in ${backend.location} opens with it${also}`,
      );
    }
    if (raw?.version !== FORMAT_VERSION) {
      const why = raw?.version === 1
        ? " (a development build's format, before blob segments; back up into a new repository)"
        : "";
      throw new CorruptError(
        `config file of ${backend.location} has format version ${raw?.version}; ` +
          `this cairn reads version ${FORMAT_VERSION}${why}`,
      );
    }
    validateChunkerParams(raw.chunker);
    if (raw.object_lock !== undefined) {
      try {
        raw.object_lock = validateObjectLock(raw.object_lock);
      } catch (err) {
        throw new CorruptError(`config file of ${backend.location}: ${(err as Error).message}`);
      }
    }
    const repo = new Repository(backend, master, raw, new MasterIndex());
    repo.key = { name: opened!.name, kdf: opened!.params };
    repo.onWarning = opts.onWarning ?? repo.onWarning;
    await repo.reloadIndex();
    return repo;
  }

  /**
   * Rereads every index file (e.g. after another writer added some). A
   * damaged one is skipped with a warning and named in
   * {@link damagedIndexFiles}: readers go on (blobs it listed are found
   * through pack headers); writers refuse.
   */
  async reloadIndex(): Promise<void> {
    const { index, listed, damaged } = await loadMasterIndex(this.backend, this.master.enc, {
      onDamaged: (name, err) => this.onWarning(`skipping index file index/${name}: ${err.message}`),
    });
    this.index = index;
    this.indexFiles = listed;
    this.damagedIndexFiles = damaged;
    this.#headersRead = undefined;
  }

  /** Throws unless every index file could be read: for writers, which rely on the index whole. */
  assertIndexWhole(what: string): void {
    if (this.damagedIndexFiles.length === 0) return;
    throw new CorruptError(
      `index file index/${this.damagedIndexFiles[0]} is damaged, so ${what} could rely on data ` +
        `that is gone; run "cairn repair index" first`,
    );
  }

  /**
   * Rereads the index if its files changed since it was loaded (a listing,
   * no reads, when nothing changed). A backup calls this once it holds its
   * shared lock, so that it never reuses a blob a prune dropped before then
   * (docs/PRUNE.md rule 4).
   */
  async refreshIndex(): Promise<boolean> {
    const names = new Set<string>();
    for await (const f of this.backend.list("index")) names.add(f.name);
    const loaded = new Set(this.indexFiles);
    if (names.size === loaded.size && [...names].every((n) => loaded.has(n))) return false;
    await this.reloadIndex();
    return true;
  }

  /** A pack writer with this repository's settings. */
  newPackWriter(onPack: (p: PackInfo) => void | Promise<void>): PackWriter {
    return new PackWriter(backendPackStore(this.backend), this.master.enc, {
      targetSize: this.config.pack_size,
      compressionLevel: this.config.compression,
      onPack,
    });
  }

  #packKey(entry: IndexEntry): Promise<CryptoKey> {
    let key = this.#packKeys.get(entry.pack.name);
    if (!key) {
      if (this.#packKeys.size > 4096) this.#packKeys.clear();
      key = packKey(this.master.enc, entry.pack.salt);
      this.#packKeys.set(entry.pack.name, key);
    }
    return key;
  }

  /** Loads, decrypts and verifies one blob. */
  async loadBlob(type: BlobType, id: string): Promise<Uint8Array> {
    const entry = await this.locateBlob(type, id);
    return extractBlob(this.master.id, await this.#segment(entry, id), { ...entry, id });
  }

  /**
   * Where blob `id` is stored, checked as {@link loadBlob} checks it (in the
   * index or a pack's trailer, of this type, no longer than the chunker
   * cuts). For readers that open segments elsewhere (restore workers).
   */
  async locateBlob(type: BlobType, id: string): Promise<IndexEntry> {
    let entry = this.index.get(id);
    if (!entry && this.readPackHeaders) {
      await (this.#headersRead ??= this.#readUnindexedHeaders());
      entry = this.index.get(id);
    }
    if (!entry) throw new CorruptError(`${type} blob ${id} is not in the index`);
    if (entry.type !== type) {
      throw new CorruptError(`blob ${id} is a ${entry.type} blob, not ${type}`);
    }
    // The chunker never cuts a data blob longer than its maximum; a longer
    // one is a hostile index entry, and would cost its length in memory.
    if (type === "data" && entry.rawLength > this.config.chunker.max) {
      throw new CorruptError(
        `data blob ${id} is ${entry.rawLength} bytes, above the chunker's maximum of ${this.config.chunker.max}`,
      );
    }
    return entry;
  }

  /**
   * The plaintext of the segment holding blob `id`. Segments of small blobs
   * are kept for a while (at most {@link SEGMENT_CACHE} of them, about
   * 768 KiB each): the next blob wanted is most often in the same one.
   */
  #segment(entry: IndexEntry, id: string): Promise<Uint8Array> {
    const open = async () => {
      // Trees are read again by every backup and restore: a local cache may keep them.
      const sealed = await this.backend.load(
        "data",
        entry.pack.name,
        { offset: entry.offset, length: entry.length },
        { cache: entry.type === "tree" },
      );
      const what = `${entry.type} blob ${id}`;
      const key = await this.#packKey(entry);
      const end = entry.at + entry.rawLength;
      return openSegment(key, entry.type, entry.offset, sealed, what, undefined, end);
    };
    if (entry.rawLength >= SEGMENT_ALONE) return open();
    const key = `${entry.pack.name}/${entry.offset}`;
    let segment = this.#segments.get(key);
    if (segment) this.#segments.delete(key);
    else {
      segment = open();
      segment.catch(() => this.#segments.delete(key));
    }
    this.#segments.set(key, segment);
    if (this.#segments.size > SEGMENT_CACHE) {
      this.#segments.delete(this.#segments.keys().next().value!);
    }
    return segment;
  }

  /** The plaintext length the index records for blob `id`, or undefined when it is not indexed. */
  blobLength(id: string): number | undefined {
    return this.index.get(id)?.rawLength;
  }

  /**
   * Adds the blobs of every pack the index does not list, read from their
   * trailers, as a fallback for reads only (like dropped packs: no backup
   * deduplicates against them). This is how a blob whose index file is
   * damaged or lost is still found.
   */
  async #readUnindexedHeaders(): Promise<void> {
    const known = new Set([...this.index.packs()].map((p) => p.name));
    for (const name of this.index.droppedPacks()) known.add(name);
    const names: string[] = [];
    for await (const f of this.backend.list("data")) if (!known.has(f.name)) names.push(f.name);
    let found = 0;
    await mapLimit(names, 8, async (name) => {
      try {
        const { salt, blobs } = await readPackTrailer(this.backend, this.master.enc, name);
        this.index.addDroppedPack({ name, salt, blobs });
        found++;
      } catch (err) {
        if (!(err instanceof CorruptError || err instanceof RangeError)) throw err;
        this.onWarning(`pack data/${name} is in no index and its header cannot be read`);
      }
    });
    if (found > 0) {
      this.onWarning(`read the headers of ${found} pack(s) no index lists, to find missing blobs`);
    }
  }

  /** Loads and validates one tree. */
  async loadTree(id: string): Promise<Tree> {
    return decodeTree(await this.loadBlob("tree", id), id);
  }

  /** Writes a snapshot file; returns its id. */
  saveSnapshot(snapshot: Snapshot): Promise<string> {
    return saveSealedJson(this.backend, this.master.enc, "snapshots", snapshot);
  }

  /**
   * Removes snapshot files by full id, one after another, checking `signal`
   * between them; an id already gone is no error (storage removal is
   * idempotent). What the snapshots alone used stays until a prune.
   */
  async removeSnapshots(
    ids: readonly string[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    for (const id of ids) {
      opts.signal?.throwIfAborted();
      await this.backend.remove("snapshots", id);
    }
  }

  /** Loads one snapshot by full id. */
  async loadSnapshot(id: string): Promise<SnapshotWithId> {
    const raw = await loadSealedJson(this.backend, this.master.enc, "snapshots", id);
    return { ...validateSnapshot(raw, id), id };
  }

  /**
   * Every snapshot, oldest first. A snapshot file that cannot be read is
   * skipped with a warning naming it, so one damaged file hides only
   * itself; with `strict` (prune, which must see every reference) it throws.
   */
  async listSnapshots(opts: { strict?: boolean } = {}): Promise<SnapshotWithId[]> {
    const names: string[] = [];
    for await (const f of this.backend.list("snapshots")) names.push(f.name);
    const all = await mapLimit(names, 16, async (n) => {
      try {
        return await this.loadSnapshot(n);
      } catch (err) {
        if (err instanceof NotFoundError) return undefined; // forgotten meanwhile
        if (!(err instanceof CorruptError) || opts.strict) throw err;
        this.onWarning(`skipping snapshot file snapshots/${n}: ${err.message}`);
        return undefined;
      }
    });
    return all.filter((s) => s !== undefined).sort((a, b) =>
      Date.parse(a.time) - Date.parse(b.time) || a.id.localeCompare(b.id)
    );
  }

  /** The snapshot `ref` names: an id, a unique prefix or `latest`. */
  async findSnapshot(ref: string): Promise<SnapshotWithId> {
    return resolveSnapshot(await this.listSnapshots(), ref);
  }
}
