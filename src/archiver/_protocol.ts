/**
 * Messages between the archiver (main thread) and its file-saver workers.
 * Paths go in, blob ids come out; file bytes never leave the worker that
 * read them. A worker seals each pack itself (compressed, verified,
 * encrypted) and transfers its bytes, without a copy, to the main thread,
 * which saves it through the repository's backend (retries, fault
 * injection, credentials and all) and acknowledges it once durable.
 */
import type { ChunkerParams } from "../chunker/mod.ts";
import type { PackInfo } from "../repo/mod.ts";
import type { MirrorTarget } from "./mirror_sink.ts";
import type { Batch } from "./chunk_batches.ts";

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
  /** The mirror's writer module (see `MirrorSink.writerModule`), when the backup has a mirror. */
  mirrorWriter?: string;
  /** The blob ids claimed by the pool's workers (see ClaimTable). */
  claims: SharedArrayBuffer;
  /**
   * A file of at least this many bytes is split: this worker reads and cuts
   * it and the pool's workers hash and pack its chunks (see ChunkBatcher).
   */
  splitFrom: number;
  /** Batches of a split file in flight at once (see BatchWindow). */
  splitWindow: number;
}

/** Where a split file's blob ids are: its last attempt and how many batches that has. */
export interface SplitEnd {
  /** The leader's number for the file, unique among its splits. */
  no: number;
  attempt: number;
  batches: number;
}

/**
 * A batch of a split file's chunks. From its reading worker to the pool
 * (`from` unset), and from the pool to the worker that hashes and packs
 * it (`from`: the reading worker's index, or -1 for the main thread's
 * stream), which answers with a {@link ChunkedMessage}.
 */
export interface ChunksMessage extends Batch {
  type: "chunks";
  split: number;
  from?: number;
}

/** The blob ids of a {@link ChunksMessage}'s chunks, in order; its chunks are packed. */
export interface ChunkedMessage {
  type: "chunked";
  from: number;
  split: number;
  attempt: number;
  seq: number;
  ids: string[];
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
    /** Bytes of this file already told by `read` messages while it was read. */
    reported?: number;
    /** The file was split: `content` is empty, its ids come in {@link ChunkedMessage}s. */
    split?: SplitEnd;
  }
  | { ok: false; error: string; split?: SplitEnd };

/** The pack a worker sent as `seq` is durable and recorded: its writer may go on. */
export interface SavedMessage {
  type: "saved";
  seq: number;
}

export type ToWorker =
  | InitMessage
  | FilesMessage
  | SavedMessage
  | ChunksMessage
  /** One batch this worker sent of a split file is done. */
  | { type: "credit" }
  | { type: "flush" };

export type FromWorker =
  | { type: "files"; batch: number; results: FileResult[] }
  /** A sealed pack to save; `bytes` is transferred, and answered by a {@link SavedMessage}. */
  | { type: "pack"; seq: number; pack: PackInfo; bytes: Uint8Array }
  | { type: "flushed" }
  | ChunksMessage
  | ChunkedMessage
  /** Progress inside a large file: this many more bytes of it were read. */
  | { type: "read"; bytes: number }
  | { type: "fatal"; message: string };
