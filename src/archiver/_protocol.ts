/**
 * Messages between the archiver (main thread) and its file-saver workers.
 * Paths go in, blob ids come out; file bytes never leave the worker that
 * read them. A worker seals each pack itself (compressed, verified,
 * encrypted) and transfers its bytes, without a copy, to the main thread,
 * which saves it through the repository's backend (retries, fault
 * injection, credentials and all) and acknowledges it once durable.
 */
import type { ChunkerParams } from "../chunker/mod.ts";
import type { NodeXattr, PackInfo } from "../repo/mod.ts";

export interface InitMessage {
  type: "init";
  enc: Uint8Array;
  idKey: Uint8Array;
  chunkerSeed: Uint8Array;
  chunker: ChunkerParams;
  compression: number;
  packSize: number;
  /** Sorted 32-byte ids of blobs already stored (see MasterIndex.sortedIds). */
  known: SharedArrayBuffer;
}

/**
 * Where a worker writes the mirror copy of a file it reads: a temp file
 * beside `path`, renamed over it once whole, with this mode and these times.
 */
export interface MirrorTarget {
  path: string;
  mode: number;
  mtimeMs: number;
  atimeMs?: number;
  /** Set only when running as root. */
  owner?: { uid: number; gid: number };
  /**
   * The blob ids of what the mirror file holds now (the parent snapshot's
   * version). When the file read has the same ids, only its mode and times
   * are set: a new mtime on the same bytes costs no rewrite.
   */
  expect?: string[];
  /**
   * `path` is in a directory this run created under a temp name (renamed
   * into place once complete), so nothing is there and nobody sees it yet:
   * the file is written under its own name, with no temp file and rename.
   */
  fresh?: boolean;
  /** The directory is setgid: a new file takes its group, not ours. */
  dirGroup?: boolean;
  /** Extended attributes to set, after owner and mode (chown clears a capability). */
  xattrs?: NodeXattr[];
}

export interface FileJob {
  path: string;
  size: number;
  /** Also write the bytes read to this mirror file. */
  mirror?: MirrorTarget;
  /** The chunk store already has the file: copy it to `mirror` without chunking or hashing. */
  mirrorOnly?: boolean;
}

export interface FilesMessage {
  type: "files";
  batch: number;
  files: FileJob[];
}

export type FileResult =
  | {
    ok: true;
    content: string[];
    size: number;
    mirrorError?: string;
    mirrorRetimed?: boolean;
    /** Extended attributes the mirror copy could not be given; the copy is kept. */
    mirrorWarnings?: string[];
    /** The file changed while it was read, twice: stored as the second read saw it. */
    changed?: boolean;
  }
  | { ok: false; error: string };

/** The pack a worker sent as `seq` is durable and recorded: its writer may go on. */
export interface SavedMessage {
  type: "saved";
  seq: number;
}

export type ToWorker = InitMessage | FilesMessage | SavedMessage | { type: "flush" };

export type FromWorker =
  | { type: "files"; batch: number; results: FileResult[] }
  /** A sealed pack to save; `bytes` is transferred, and answered by a {@link SavedMessage}. */
  | { type: "pack"; seq: number; pack: PackInfo; bytes: Uint8Array }
  | { type: "flushed" }
  | { type: "fatal"; message: string };
