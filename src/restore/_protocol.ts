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

export type ToWorker =
  | { type: "init"; enc: Uint8Array; idKey: Uint8Array }
  | { type: "file"; job: number; spec: FileSpec; blobs: BlobPlace[]; content: number[] }
  | { type: "loaded"; req: number; bytes?: Uint8Array; error?: string };

export type FromWorker =
  | { type: "load"; req: number; pack: string; offset: number; length: number }
  | { type: "done"; job: number; bytes: number; warnings: string[] }
  | { type: "failed"; job: number; error: string };
