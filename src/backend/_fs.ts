/**
 * Synchronous filesystem primitives for {@link LocalBackend}: crash-safe
 * writes, directory fsync, ranged reads and one-line error messages.
 *
 * They are synchronous on purpose: the local backend also runs inside Web
 * Workers, where blocking calls cost nothing and skip the async op overhead.
 *
 * @module
 */

import { join } from "node:path";

/** Prefix of in-flight temp files; never a valid file name, so lists skip them. */
export const TEMP_PREFIX = ".tmp-";

/**
 * Writes `data` to `dir/name` so that a crash leaves either no file or the
 * whole file under that name: temp file → write → fsync → rename → fsync dir.
 *
 * The temp file is created with `mode` already applied (POSIX still hands back
 * a writable descriptor), so the file is never briefly more open than that.
 * Renaming over an existing file is what makes re-saves idempotent. With
 * `ifAbsent` the temp file is hard-linked instead, which fails on an existing
 * name: the result is then `"exists"` and nothing was changed.
 *
 * The bytes are written synchronously (a copy into the page cache); the
 * fsyncs, which take long when the disk is busy (a mirror being written, say),
 * run off the calling thread, so a worker keeps chunking meanwhile.
 */
export async function writeFileAtomic(
  dir: string,
  name: string,
  data: Uint8Array,
  mode: number,
  ifAbsent = false,
): Promise<"written" | "exists"> {
  const temp = join(dir, TEMP_PREFIX + randomHex(8));
  const file = Deno.openSync(temp, { write: true, createNew: true, mode });
  try {
    try {
      for (let done = 0; done < data.length;) done += file.writeSync(data.subarray(done));
      await file.sync();
    } finally {
      file.close();
    }
    if (ifAbsent) {
      // link() never replaces an existing name, so of racing creators one wins.
      try {
        Deno.linkSync(temp, join(dir, name));
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        Deno.removeSync(temp);
        return "exists";
      }
      Deno.removeSync(temp);
    } else Deno.renameSync(temp, join(dir, name));
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch {
      // The write's own error is the one worth reporting; a leftover temp
      // file is harmless because listings skip it.
    }
    throw err;
  }
  const handle = Deno.openSync(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
  return "written";
}

/** Makes a directory's entries (new, renamed files) durable. */
export function fsyncDirSync(dir: string): void {
  const handle = Deno.openSync(dir, { read: true });
  try {
    handle.syncSync();
  } finally {
    handle.close();
  }
}

/** Reads `[start, end)` of an open file without reading the rest of it. */
export function readRangeSync(file: Deno.FsFile, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  file.seekSync(start, Deno.SeekMode.Start);
  for (let done = 0; done < out.length;) {
    const n = file.readSync(out.subarray(done));
    if (n === null) throw new Deno.errors.UnexpectedEof("file ended before the range did");
    done += n;
  }
  return out;
}

/**
 * Rewords an OS error as one line naming `path`, keeping the original text
 * and, for `Deno.errors.*`, the class, so callers (and the retry wrapper)
 * can still branch on e.g. `Deno.errors.PermissionDenied`.
 */
export function ioError(err: unknown, verb: string, path: string): Error {
  const detail = err instanceof Error ? err.message : String(err);
  const message = `Cannot ${verb} ${path}: ${detail}`.replace(/\s*\n\s*/g, " ");
  const Class = err instanceof Error ? denoErrorClass(err) : undefined;
  return Class ? new Class(message, { cause: err }) : new Error(message, { cause: err });
}

function denoErrorClass(err: Error): (new (m: string, o?: ErrorOptions) => Error) | undefined {
  for (const Class of Object.values(Deno.errors)) {
    if (err.constructor === Class) return Class as new (m: string, o?: ErrorOptions) => Error;
  }
  return undefined;
}

function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}
