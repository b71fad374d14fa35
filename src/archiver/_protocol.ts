/**
 * Messages between the archiver (main thread) and its file-saver workers.
 * Only small messages cross: paths in, blob ids and pack descriptions out;
 * file bytes never leave the worker that read them.
 */
import type { ChunkerParams } from "../chunker/mod.ts";
import type { PackInfo } from "../repo/mod.ts";

export interface InitMessage {
  type: "init";
  backend: string;
  enc: Uint8Array;
  idKey: Uint8Array;
  chunkerSeed: Uint8Array;
  chunker: ChunkerParams;
  compression: number;
  packSize: number;
  /** Sorted 32-byte ids of blobs already stored (see MasterIndex.sortedIds). */
  known: SharedArrayBuffer;
}

export interface FileJob {
  path: string;
  size: number;
}

export interface FilesMessage {
  type: "files";
  batch: number;
  files: FileJob[];
}

export type FileResult =
  | { ok: true; content: string[]; size: number }
  | { ok: false; error: string };

export type ToWorker = InitMessage | FilesMessage | { type: "flush" };

export type FromWorker =
  | { type: "files"; batch: number; results: FileResult[] }
  | { type: "pack"; pack: PackInfo }
  | { type: "flushed" }
  | { type: "fatal"; message: string };
