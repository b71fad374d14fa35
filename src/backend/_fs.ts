/**
 * Synchronous filesystem primitives for {@link LocalBackend}: ranged reads and
 * one-line error messages (crash-safe writes are `src/fs`'s `writeFileAtomic`).
 *
 * They are synchronous on purpose: the local backend also runs inside Web
 * Workers, where blocking calls cost nothing and skip the async op overhead.
 *
 * @module
 */

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
