/**
 * What Deno's own APIs do not reach: extended attributes (which carry
 * POSIX ACLs and file capabilities too) and the times of a symlink itself.
 * Linux only, through libc; elsewhere `supported` is false and every call
 * throws {@link NotSupportedError}, so callers can skip the feature cleanly.
 *
 * @module
 */
import * as linux from "./_linux.ts";
import { OsError } from "./os_error.ts";

export { OsError };

/** Is the process root (so setting owners and making device nodes can work)? */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** Does this platform implement the calls below? */
export const supported = Deno.build.os === "linux";

/** Thrown by every call where {@link supported} is false. */
export class NotSupportedError extends Error {
  constructor(what: string) {
    super(`${what} is not supported on ${Deno.build.os}`);
    this.name = "NotSupportedError";
  }
}

/** One extended attribute: its full name (`user.note`) and raw value. */
export interface Xattr {
  name: string;
  value: Uint8Array;
}

function need(what: string): void {
  if (!supported) throw new NotSupportedError(what);
}

/**
 * Every extended attribute of `path` (a symlink's own, not its target's),
 * sorted by name. A filesystem without xattr support gives none.
 */
export function readXattrs(path: string): Xattr[] {
  need("reading extended attributes");
  let names: string[];
  try {
    names = linux.listXattrNames(path);
  } catch (err) {
    if (err instanceof OsError && err.errno === linux.ENOTSUP) return [];
    throw err;
  }
  const out: Xattr[] = [];
  for (const name of names.sort()) {
    const value = linux.getXattr(path, name);
    if (value !== null) out.push({ name, value });
  }
  return out;
}

/** Sets one extended attribute of `path` (a symlink's own). */
export function writeXattr(path: string, name: string, value: Uint8Array): void {
  need("setting extended attributes");
  linux.setXattr(path, name, value);
}

/** Sets the access and modification times of `path` without following a link. */
export function setLinkTimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  need("setting a symlink's times");
  linux.lutimes(path, atimeNs, mtimeNs);
}

/** Is every byte of `bytes` zero? Most data answers at its first byte. */
export function allZero(bytes: Uint8Array): boolean {
  const head = Math.min(bytes.length, (4 - (bytes.byteOffset % 4)) % 4);
  for (let i = 0; i < head; i++) if (bytes[i] !== 0) return false;
  const words = Math.floor((bytes.length - head) / 4);
  const w = new Uint32Array(bytes.buffer, bytes.byteOffset + head, words);
  for (let i = 0; i < words; i++) if (w[i] !== 0) return false;
  for (let i = head + words * 4; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Holes are made in aligned blocks of this many bytes. */
const HOLE_BLOCK = 32 * 1024;

/**
 * Writes a new, empty file so that its runs of zeros become holes: each
 * aligned all-zero block is skipped with a seek instead of written, and
 * {@link finish} extends the file to its size with ftruncate. A sparse file
 * comes back sparse; a file with no zero blocks is written as before.
 */
export class SparseWriter {
  #at = 0;
  #end = 0;

  constructor(private readonly file: Deno.FsFile) {}

  write(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      const n = Math.min(bytes.length - i, HOLE_BLOCK - ((this.#at + i) % HOLE_BLOCK));
      const part = bytes.subarray(i, i + n);
      if (n === HOLE_BLOCK && allZero(part)) {
        // Skipped; moving the offset lets the next block land in place.
      } else {
        if (this.#end !== this.#at + i) this.file.seekSync(this.#at + i, Deno.SeekMode.Start);
        let w = 0;
        while (w < n) w += this.file.writeSync(part.subarray(w));
        this.#end = this.#at + i + n;
      }
      i += n;
    }
    this.#at += bytes.length;
  }

  /** Bytes given so far. */
  get size(): number {
    return this.#at;
  }

  /** Extends the file over a trailing hole. */
  finish(): void {
    if (this.#end !== this.#at) this.file.truncateSync(this.#at);
  }
}
