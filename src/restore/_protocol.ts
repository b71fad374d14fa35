/**
 * Messages between a restore (main thread) and its workers. The main thread
 * walks the trees, makes the directories and reads the stored segments
 * through the repository's backend (retries, credentials and all); a worker
 * decrypts, decompresses and verifies them and writes whole files through
 * held-directory paths, which name the same directories in every thread.
 */
import type { FileSpec } from "./_write_file.ts";

/** One blob of a file, where the index says it is. */
export interface BlobPlace {
  id: string;
  pack: string;
  salt: Uint8Array;
  offset: number;
  length: number;
  rawLength: number;
  at: number;
}

/**
 * One segment of a {@link ToWorker} batch: its sealed bytes, read by the
 * main thread, or why they could not be (the files needing it fail).
 */
export interface BatchSegment {
  pack: string;
  salt: Uint8Array;
  offset: number;
  sealed?: Uint8Array;
  error?: string;
}

/** One blob of a batch: in segment `seg` of the batch, at `at` of its plaintext. */
export interface BatchBlob {
  id: string;
  seg: number;
  at: number;
  rawLength: number;
}

/** One file of a batch: its spec and its content as indexes into the batch's blobs. */
export interface BatchFile {
  spec: FileSpec;
  content: number[];
}

/** What became of one file of a batch. */
export type BatchResult = { bytes: number; warnings: string[] } | { error: string };

export type ToWorker =
  | { type: "init"; enc: Uint8Array; idKey: Uint8Array }
  | { type: "file"; job: number; spec: FileSpec; blobs: BlobPlace[]; content: number[] }
  | {
    type: "batch";
    job: number;
    segs: BatchSegment[];
    blobs: BatchBlob[];
    files: BatchFile[];
  }
  | { type: "loaded"; req: number; bytes?: Uint8Array; error?: string };

export type FromWorker =
  | { type: "load"; req: number; pack: string; offset: number; length: number }
  | { type: "done"; job: number; bytes: number; warnings: string[] }
  | { type: "batchDone"; job: number; results: BatchResult[] }
  | { type: "failed"; job: number; error: string };
