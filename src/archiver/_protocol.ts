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
  /** Progress inside a large file: this many more bytes of it were read. */
  | { type: "read"; bytes: number }
  | { type: "fatal"; message: string };
