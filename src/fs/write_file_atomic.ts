/**
 * Crash-safe whole-file writes, the one way cairn replaces a file: repository
 * files, the agent's status records and metrics, cached job documents and
 * queued reports.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { syncDir } from "./sync_dir.ts";

/**
 * Prefix of in-flight temp files, which {@link writeFileAtomic} makes beside
 * its target. Never a valid repository file name, so listings skip them and
 * cleanups can find what a crash left.
 */
export const TEMP_PREFIX = ".tmp-";

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Permission bits of the new file (before the umask); default `0o600`. */
  mode?: number;
  /**
   * Never replace an existing file: the temp file is hard-linked into place,
   * which fails on an existing name, so of racing creators exactly one wins
   * and the others get `"exists"` with nothing changed.
   */
  ifAbsent?: boolean;
}

/**
 * Writes `data` (a string is written as UTF-8) to `path` so that a crash
 * leaves either the old file or the whole new one under that name, never a
 * part: temp file beside it → write → fsync → rename (or link) → fsync of the
 * directory. Readers of `path` see the old file or the new one at any moment.
 *
 * The temp file is created with `mode` already applied (POSIX still hands back
 * a writable descriptor), so the file is never briefly more open than that.
 * Renaming over an existing file is what makes re-saves idempotent.
 *
 * The bytes are written synchronously (a copy into the page cache; workers
 * skip the async op overhead); the fsyncs, which take long when the disk is
 * busy, run off the calling thread, so a worker keeps chunking meanwhile. On
 * failure the temp file is removed and the error is the OS's, unchanged, so
 * callers can branch on `Deno.errors.*`.
 *
 * @returns `"written"`, or `"exists"` when `ifAbsent` found the name taken.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<"written" | "exists"> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const dir = dirname(path);
  const temp = join(dir, TEMP_PREFIX + randomHex(8));
  const file = Deno.openSync(temp, { write: true, createNew: true, mode: options.mode ?? 0o600 });
  try {
    try {
      for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
      await file.sync();
    } finally {
      file.close();
    }
    if (options.ifAbsent) {
      // link() never replaces an existing name, so of racing creators one wins.
      try {
        Deno.linkSync(temp, path);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        Deno.removeSync(temp);
        return "exists";
      }
      Deno.removeSync(temp);
    } else Deno.renameSync(temp, path);
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch {
      // The write's own error is the one worth reporting; a leftover temp
      // file is harmless because it carries TEMP_PREFIX.
    }
    throw err;
  }
  await syncDir(dir);
  return "written";
}

function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}
