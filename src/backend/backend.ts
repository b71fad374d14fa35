/**
 * The storage contract every repository backend fulfils.
 *
 * A backend stores whole, immutable files keyed by (type, name). It knows
 * nothing of encryption, packs or snapshots: the repository layer above it
 * gives every file a name derived from its content and never rewrites one.
 *
 * Guarantees each implementation must keep (checked by the conformance suite
 * in `conformance_test_kit.ts`):
 * - `save` is atomic: a concurrent or later `load`/`list` sees either nothing
 *   or the whole file, never a prefix. When `save` resolves the file is
 *   durable (on a local disk: fsynced and its directory fsynced).
 * - `save` of a name that already exists with the same bytes succeeds (saves
 *   are idempotent); callers never save different bytes under one name,
 *   except through `ifAbsent` ({@link SaveOptions}).
 * - `save` with `ifAbsent` creates the file only if no file has that name:
 *   when one exists with other bytes it rejects with
 *   {@link AlreadyExistsError} and leaves the stored file alone; when one
 *   exists with the same bytes it succeeds (so a retried create whose
 *   acknowledgement was lost is not mistaken for losing a race). Of several
 *   concurrent creates of one name with different bytes at most one
 *   succeeds. This is how files whose names are not derived from their
 *   content (`config`) are written.
 * - `load` and `stat` of a missing file reject with {@link NotFoundError}.
 * - `remove` of a missing file rejects with {@link NotFoundError}. (Object
 *   stores answer a DELETE of a missing key with success; their backend
 *   looks the key up first so that callers see one rule.)
 * - `list` yields every file of a type that was durably saved before the
 *   call started; it may or may not include files saved during the listing.
 *   If it cannot list completely it throws rather than ending early.
 * - Every operation refuses a name that fails {@link assertValidName} with a
 *   `TypeError`, so a name can never escape its namespace (e.g. `../config`).
 * - An operation whose `signal` is already aborted rejects with the signal's
 *   reason without touching storage.
 * - `save` copies what it needs before resolving and `load` returns a buffer
 *   the caller owns: mutating either afterwards never changes stored data.
 */
export interface Backend {
  /** A short human description, e.g. `local:/srv/repo`. */
  readonly location: string;

  /**
   * Stores `data` under (type, name), atomically and durably. There is no
   * rename in the contract: object stores have none, so atomicity is each
   * backend's own business (a local disk writes a temp file and renames it).
   */
  save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions): Promise<void>;

  /**
   * Loads a file, or `length` bytes of it from `offset` when given (a
   * negative offset counts from the end, for pack trailers). A range that is
   * not wholly inside the file rejects with a `RangeError` rather than
   * returning fewer bytes, so truncation is never mistaken for data. (An
   * object store cuts such a range short; its backend checks the size the
   * answer reports and refuses the same way.) A backend that receives fewer
   * bytes than it was promised rejects with a transient error, never returns
   * them.
   */
  load(type: FileType, name: string, range?: ByteRange, options?: OpOptions): Promise<Uint8Array>;

  /** Size of a stored file. */
  stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat>;

  /** Every stored file of a type. */
  list(type: FileType, options?: OpOptions): AsyncIterable<FileStat>;

  /** Deletes a file. */
  remove(type: FileType, name: string, options?: OpOptions): Promise<void>;

  /** Releases resources (open handles, connections). */
  close(): Promise<void>;

  /**
   * Optional: files interrupted saves left behind (a local disk's temp
   * files), which `list` never shows; `name` is a path inside the
   * repository. `check` reports them and prune removes old ones.
   */
  listTemporary?(options?: OpOptions): AsyncIterable<FileStat>;

  /** Optional: removes one file {@link listTemporary} listed. */
  removeTemporary?(name: string, options?: OpOptions): Promise<void>;

  /**
   * The Object Lock retention of a stored file, or undefined when it has
   * none. Only backends on storage with Object Lock (S3) have this.
   */
  retention?(type: FileType, name: string, options?: OpOptions): Promise<Retention | undefined>;

  /** Sets (extends) a stored file's Object Lock retention. */
  setRetention?(
    type: FileType,
    name: string,
    retention: Retention,
    options?: OpOptions,
  ): Promise<void>;
}

/**
 * S3 Object Lock retention: until `untilMs` the stored bytes cannot be
 * deleted or overwritten. Governance mode lets a user with a special
 * permission lift it; compliance mode lets nobody, not even the account root.
 */
export interface Retention {
  mode: "governance" | "compliance";
  /** Retain-until time in ms since the epoch. */
  untilMs: number;
}

/** The kinds of file a repository holds; each lives in its own namespace. */
export type FileType = "config" | "keys" | "snapshots" | "index" | "data" | "locks";

export const FILE_TYPES: readonly FileType[] = [
  "config",
  "keys",
  "snapshots",
  "index",
  "data",
  "locks",
];

/** The names of the storage operations, for wrappers that report or fault them. */
export type BackendOp = "save" | "load" | "stat" | "list" | "remove";

/** A slice of a file: `length` bytes from `offset` (negative: from the end). */
export interface ByteRange {
  offset: number;
  length: number;
}

export interface FileStat {
  name: string;
  size: number;
  /** Last modification time in ms since the epoch, when the backend knows it. */
  mtimeMs?: number;
}

export interface OpOptions {
  signal?: AbortSignal;
  /**
   * A hint for `load` of a data range: the caller reads it again on later
   * runs (a pack's tree segment), so a local cache may keep it
   * (cache.ts). Backends without a cache ignore it.
   */
  cache?: boolean;
}

/** Options of {@link Backend.save}. */
export interface SaveOptions extends OpOptions {
  /**
   * Create the file only if no file of that name exists, else reject with
   * {@link AlreadyExistsError} (same bytes: succeed). For names that are not
   * content-derived, where two writers could otherwise overwrite each other.
   */
  ifAbsent?: boolean;
  /** Store the file under this Object Lock retention (backends with {@link Backend.retention}). */
  retention?: Retention;
  /**
   * A hint for `save` of a data file: ranges of it that later runs will
   * `load` with {@link OpOptions.cache} (the segments of a pack's trees), so
   * a local cache may keep them now rather than fetch them on the next
   * run. Backends without a cache ignore it.
   */
  cacheRanges?: readonly ByteRange[];
  /**
   * The SHA-256 of `data` in hex, when the caller knows it (a pack's name
   * is its hash): a backend that sends it with the bytes (S3 signs it, and
   * the server refuses bytes that do not match) need not hash them again.
   */
  sha256?: string;
}

/** A create-only save found the name taken by other bytes. Callers branch on this. */
export class AlreadyExistsError extends Error {
  constructor(readonly type: FileType, readonly fileName: string, options?: ErrorOptions) {
    super(`Cannot create ${type} file "${fileName}": it already exists`, options);
    this.name = "AlreadyExistsError";
  }
}

/** A file the caller asked for does not exist. Callers branch on this. */
export class NotFoundError extends Error {
  constructor(readonly type: FileType, readonly fileName: string, options?: ErrorOptions) {
    super(`Cannot find ${type} file "${fileName}"`, options);
    this.name = "NotFoundError";
  }
}

/** Names are lowercase hex (or `config`); anything else is refused. */
export function assertValidName(type: FileType, name: string): void {
  const ok = type === "config" ? name === "config" : /^[0-9a-f]{8,128}$/.test(name);
  if (!ok) throw new TypeError(`Invalid ${type} file name "${name}"`);
}
