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
 *   are idempotent); callers never save different bytes under one name.
 * - `load` and `stat` of a missing file reject with {@link NotFoundError}.
 * - `remove` of a missing file rejects with {@link NotFoundError}.
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

  /** Stores `data` under (type, name), atomically and durably. */
  save(type: FileType, name: string, data: Uint8Array, options?: OpOptions): Promise<void>;

  /**
   * Loads a file, or `length` bytes of it from `offset` when given (a
   * negative offset counts from the end, for pack trailers). A range that is
   * not wholly inside the file rejects with a `RangeError` rather than
   * returning fewer bytes, so truncation is never mistaken for data.
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
