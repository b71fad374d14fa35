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
import { denoError, openSync as byteOpenSync } from "./byte_fs.ts";
import { showName } from "./byte_names.ts";

export { OsError };
export {
  boundHeap,
  type MemoryPeaks,
  nativeGarbage,
  readMemoryTrace,
  releaseMemory,
  traceMemory,
} from "./memory.ts";
export { isByteName, nameBytes, nameOfBytes, showName } from "./byte_names.ts";
/** Deno's file calls for paths that may hold a name that is not UTF-8 (see byte_fs.ts). */
export * as byteFs from "./byte_fs.ts";

/** Is the process root (so setting owners and making device nodes can work)? */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** Does this platform implement the calls below? */
export const supported = Deno.build.os === "linux";

/** Does {@link lstat} report times to the nanosecond (else Deno's milliseconds and ctime seconds)? */
export const nsTimes = supported;

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

/** Sets the owner of `path` itself, not following a link (Deno has no lchown). */
export function setLinkOwner(path: string, uid: number, gid: number): void {
  need("setting a symlink's owner");
  linux.lchown(path, uid, gid);
}

/**
 * Sets the access and modification times of `path` (nanosecond strings, as
 * trees hold them) to the nanosecond: of the entry itself, or with `follow`
 * of what a final link leads to (a held directory's `/proc/self/fd/N`).
 * Where the platform has no such call, Deno's utime sets them to the
 * millisecond, following links.
 */
export function setTimes(
  path: string,
  atimeNs: string,
  mtimeNs: string,
  opts: { follow?: boolean } = {},
): void {
  if (!supported) return Deno.utimeSync(path, nsDate(atimeNs), nsDate(mtimeNs));
  if (opts.follow) linux.utimes(path, BigInt(atimeNs), BigInt(mtimeNs));
  else linux.lutimes(path, BigInt(atimeNs), BigInt(mtimeNs));
}

const nsDate = (ns: string) => new Date(Number(BigInt(ns) / 1_000_000n));

/** An lstat result with its times to the nanosecond, as decimal strings since the epoch. */
export interface FileStat extends Deno.FileInfo {
  mtimeNs: string;
  atimeNs: string;
  /** Where the platform reports ctime in whole seconds (Deno's own lstat), so is this. */
  ctimeNs: string;
}

/** Nanoseconds since the epoch of a whole-second and a nanosecond part, as a decimal string. */
export function timeNs(sec: number, nsec: number): string {
  // String arithmetic: this runs three times per entry in every backup, and BigInt is slow.
  if (sec > 0) return `${sec}${nsec < 100_000_000 ? String(nsec).padStart(9, "0") : nsec}`;
  return (BigInt(sec) * 1_000_000_000n + BigInt(nsec)).toString();
}

function msNs(d: Date | null): string {
  if (!d) return "0";
  const ms = d.getTime();
  return ms > 0 ? `${ms}000000` : (BigInt(ms) * 1_000_000n).toString();
}

const S_IFMT = 0o170000;

/**
 * lstat of `path` (a link itself, never its target) with nanosecond times:
 * statx on Linux, costing no more than Deno's lstat; elsewhere Deno's lstat
 * (milliseconds). Throws what `Deno.lstatSync` throws: `Deno.errors.NotFound`
 * when nothing is there, `PermissionDenied`, or an {@link OsError}.
 */
export function lstat(path: string): FileStat {
  return statOf(path, false);
}

/** {@link lstat}, but following a final link (a held directory's `/proc/self/fd/N`). */
export function stat(path: string): FileStat {
  return statOf(path, true);
}

function statOf(path: string, follow: boolean): FileStat {
  if (!supported) {
    const info = follow ? Deno.statSync(path) : Deno.lstatSync(path);
    return {
      ...info,
      mtimeNs: msNs(info.mtime),
      atimeNs: msNs(info.atime),
      ctimeNs: msNs(info.ctime),
    };
  }
  let st: linux.Statx;
  try {
    st = linux.statx(path, follow);
  } catch (err) {
    throw denoError(err);
  }
  const type = st.mode & S_IFMT;
  const date = (t: linux.Timestamp) => new Date(t.sec * 1000 + Math.floor(t.nsec / 1e6));
  return {
    isFile: type === 0o100000,
    isDirectory: type === 0o040000,
    isSymlink: type === 0o120000,
    isFifo: type === 0o010000,
    isSocket: type === 0o140000,
    isCharDevice: type === 0o020000,
    isBlockDevice: type === 0o060000,
    size: st.size,
    mtime: date(st.mtime),
    atime: date(st.atime),
    ctime: date(st.ctime),
    birthtime: st.birthtime ? date(st.birthtime) : null,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    ino: st.ino,
    dev: st.dev,
    nlink: st.nlink,
    rdev: st.rdev,
    blksize: st.blksize,
    blocks: st.blocks,
    mtimeNs: timeNs(st.mtime.sec, st.mtime.nsec),
    atimeNs: timeNs(st.atime.sec, st.atime.nsec),
    ctimeNs: timeNs(st.ctime.sec, st.ctime.nsec),
  };
}

/** Numbers per entry {@link lstatInto} writes. */
export const STAT_FIELDS = linux.STATX_FIELDS;

/**
 * {@link lstat} of `path` as {@link STAT_FIELDS} numbers in `out` from `at`,
 * making no object: mode (with the type bits), size, then mtime, atime,
 * ctime and birthtime each as whole seconds and nanoseconds (NaN for a
 * birthtime not known), then uid, gid, inode, dev, nlink, rdev. For a walk
 * that stats every entry (the lister); throws what {@link lstat} throws.
 */
export function lstatInto(path: string, out: Float64Array, at: number): void {
  if (supported) {
    try {
      return linux.statxInto(path, out, at);
    } catch (err) {
      throw denoError(err);
    }
  }
  const info = Deno.lstatSync(path);
  const time = (d: Date | null, to: number) => {
    const ms = d ? d.getTime() : NaN;
    out[to] = Math.floor(ms / 1000);
    out[to + 1] = (ms - out[to] * 1000) * 1e6;
  };
  const kind = info.isDirectory ? 0o040000 : info.isSymlink ? 0o120000 : 0o100000;
  out[at] = info.mode ?? kind;
  out[at + 1] = info.size;
  time(info.mtime, at + 2);
  time(info.atime, at + 4);
  time(info.ctime, at + 6);
  time(info.birthtime, at + 8);
  out[at + 10] = info.uid ?? NaN;
  out[at + 11] = info.gid ?? NaN;
  out[at + 12] = info.ino ?? NaN;
  out[at + 13] = info.dev ?? NaN;
  out[at + 14] = info.nlink ?? NaN;
  out[at + 15] = info.rdev ?? NaN;
}

/**
 * {@link lstatInto} of entry `name` (one path component) of the directory
 * open as `dirFd`, resolved in that very directory (statx with a dirfd, not
 * following a link): no path through `/proc/self/fd` to look up. Linux only.
 */
export function lstatAtInto(dirFd: number, name: string, out: Float64Array, at: number): void {
  if (!supported) throw new NotSupportedError("stat by directory descriptor");
  try {
    return linux.statxInto(name, out, at, dirFd);
  } catch (err) {
    throw denoError(err);
  }
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

/** What {@link ReadFile.stat} gives: what a reader compares before and after it reads. */
export interface ReadStat {
  size: number;
  /** 512-byte blocks allocated (fewer than the size needs: holes). */
  blocks: number;
  ino: number | null;
  dev: number;
  /** Milliseconds, as Deno.FileInfo's; on Linux to the nanosecond (fraction). */
  mtimeMs: number;
  ctimeMs: number;
}

/** A file open for reading, by synchronous calls. */
export interface ReadFile {
  /** Reads into `buf`; the bytes read, 0 at the end. */
  read(buf: Uint8Array): number;
  seek(offset: number): void;
  stat(): ReadStat;
  close(): void;
}

/**
 * Opens `path` for reading. On Linux the calls are libc's through FFI, a
 * descriptor and no `Deno.FsFile`: Deno's open, fstat (a `FileInfo` with
 * its Dates), read and close cost a backup's savers about 0.1 s of CPU more
 * per 10,000 small files than the system calls themselves. Errors are
 * Deno's (`Deno.errors.NotFound` and so on), worded as Deno words them.
 */
export function openReadFile(path: string): ReadFile {
  if (!supported) return denoReadFile(path);
  let fd: number;
  try {
    fd = linux.open(path, linux.O_RDONLY, 0);
  } catch (err) {
    throw denoError(osWording(err, "open", path));
  }
  const out = new Float64Array(8);
  return {
    read: (buf) => {
      try {
        return linux.read(fd, buf, path);
      } catch (err) {
        throw denoError(osWording(err, "read", path));
      }
    },
    seek: (offset) => {
      if (linux.seekSet(fd, offset) !== offset) throw new Error(`cannot seek in ${path}`);
    },
    stat: () => {
      try {
        linux.fstatInto(fd, out, path);
      } catch (err) {
        throw denoError(osWording(err, "fstat", path));
      }
      return {
        size: out[0],
        blocks: out[1],
        ino: out[2],
        dev: out[3],
        mtimeMs: out[4] * 1000 + out[5] / 1e6,
        ctimeMs: out[6] * 1000 + out[7] / 1e6,
      };
    },
    close: () => linux.close(fd),
  };
}

/** An OsError worded as Deno's own: "REASON (os error N): CALL 'PATH'". */
function osWording(err: unknown, call: string, path: string): unknown {
  if (!(err instanceof OsError)) return err;
  return new OsError(
    err.errno,
    `${err.reason} (os error ${err.errno}): ${call} '${showName(path)}'`,
    err.reason,
  );
}

function denoReadFile(path: string): ReadFile {
  const file = byteOpenSync(path, { read: true });
  return {
    read: (buf) => file.readSync(buf) ?? 0,
    seek: (offset) => void file.seekSync(offset, Deno.SeekMode.Start),
    stat: () => {
      const i = file.statSync();
      return {
        size: i.size,
        blocks: i.blocks ?? Infinity,
        ino: i.ino,
        dev: i.dev,
        mtimeMs: i.mtime?.getTime() ?? -1,
        ctimeMs: i.ctime?.getTime() ?? -1,
      };
    },
    close: () => file.close(),
  };
}

/**
 * Where an open file's holes are (SEEK_DATA and SEEK_HOLE on a descriptor
 * of its own), so a reader can skip them instead of reading their zeros.
 */
export interface HoleMap {
  /** The offset of the first data at or after `offset`, or -1 when only a hole follows. */
  nextData(offset: number): number;
  /** The offset of the first hole at or after `offset` (the file's end is one). */
  nextHole(offset: number): number;
  close(): void;
}

/**
 * A {@link HoleMap} of the file at `path`, or null where holes cannot be
 * told (not Linux, or the file cannot be opened again, or what `path`
 * names now is not the inode `same` the caller has open: the caller
 * reads it all, as before). A file system without holes reports one data run.
 */
export function openHoleMap(
  path: string,
  same: { ino: number | null; dev: number },
): HoleMap | null {
  if (!supported || same.ino === null) return null;
  let fd: number;
  try {
    fd = linux.open(path, linux.O_RDONLY | linux.O_NONBLOCK | linux.O_NOFOLLOW, 0);
  } catch {
    return null;
  }
  try {
    // Opened by name a second time: it must be the file the caller has open.
    const st = linux.statx("", false, fd);
    if (st.ino !== same.ino || st.dev !== same.dev) throw new Error("replaced");
  } catch {
    linux.close(fd);
    return null;
  }
  return {
    nextData: (offset) => linux.seekDataOrHole(fd, offset, true, path),
    nextHole: (offset) => {
      const r = linux.seekDataOrHole(fd, offset, false, path);
      return r < 0 ? offset : r;
    },
    close: () => linux.close(fd),
  };
}

/**
 * A new regular file held by its raw descriptor (Linux only, see
 * {@link supported}): created with O_CREAT|O_EXCL|O_NOFOLLOW, so it is never
 * an entry that was there nor anything reached through a link, then
 * written with pwrite and given its owner, mode and times through the
 * descriptor (fchown, fchmod, futimens), which name this very inode
 * whatever happens to its path. No Deno resource, no async op: a restore
 * creates tens of thousands of these a second. Errors are `Deno.errors`
 * as Deno's own calls throw them (AlreadyExists for EEXIST...).
 */
export class NewFile {
  #pos = 0;
  #closed = false;

  private constructor(readonly fd: number, readonly path: string) {}

  /** Creates `path` with permission bits `mode` (less the umask); readable too when `read`. */
  static create(path: string, mode: number, read = false): NewFile {
    if (!supported) throw new NotSupportedError("raw file descriptors");
    const flags = (read ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | linux.O_NOFOLLOW;
    try {
      return new NewFile(linux.open(path, flags, mode & 0o7777), path);
    } catch (err) {
      throw denoError(err);
    }
  }

  /**
   * {@link create} of entry `name` of the directory open as `dirFd`, by
   * openat(2): resolved in that very directory, no `/proc/self/fd` path to
   * look up. `path` names it in messages.
   */
  static createAt(
    dirFd: number,
    name: string,
    path: string,
    mode: number,
    read = false,
  ): NewFile {
    if (!supported) throw new NotSupportedError("raw file descriptors");
    const flags = (read ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | linux.O_NOFOLLOW;
    try {
      return new NewFile(linux.openAt(dirFd, name, flags, mode & 0o7777, path), path);
    } catch (err) {
      throw denoError(err);
    }
  }

  /** Writes at the current offset (pwrite), as `Deno.FsFile.writeSync` does. */
  writeSync(bytes: Uint8Array): number {
    const n = this.#call(() => linux.pwrite(this.fd, bytes, this.#pos, this.path));
    this.#pos += n;
    return n;
  }

  /** Reads at the current offset (pread); null at the end, as `Deno.FsFile.readSync`. */
  readSync(into: Uint8Array): number | null {
    const n = this.#call(() => linux.pread(this.fd, into, this.#pos, this.path));
    this.#pos += n;
    return n === 0 && into.length > 0 ? null : n;
  }

  /** Moves the offset; only from the start (the only seek a new file needs). */
  seekSync(offset: number | bigint, whence: Deno.SeekMode): number {
    if (whence !== Deno.SeekMode.Start) throw new Error("NewFile seeks from the start only");
    this.#pos = Number(offset);
    return this.#pos;
  }

  truncateSync(length = 0): void {
    this.#call(() => linux.ftruncate(this.fd, length, this.path));
  }

  /** Mode (with the type bits), owner, device and inode of the file itself. */
  stat(): { mode: number; uid: number; gid: number; dev: number; ino: number } {
    return this.#call(() => linux.statx("", false, this.fd));
  }

  chown(uid: number, gid: number): void {
    this.#call(() => linux.fchown(this.fd, uid, gid, this.path));
  }

  chmod(mode: number): void {
    this.#call(() => linux.fchmod(this.fd, mode, this.path));
  }

  /** Times in nanoseconds since the epoch, as decimal strings (trees hold them so). */
  setTimes(atimeNs: string, mtimeNs: string): void {
    this.#call(() => linux.futimensNs(this.fd, atimeNs, mtimeNs, this.path));
  }

  /** Closes the descriptor; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    linux.close(this.fd);
  }

  #call<T>(f: () => T): T {
    if (this.#closed) throw new Error(`internal: ${this.path} used after its descriptor closed`);
    try {
      return f();
    } catch (err) {
      throw denoError(err);
    }
  }
}
const O_WRONLY = 0o1;
const O_RDWR = 0o2;
const O_CREAT = 0o100;
const O_EXCL = 0o200;

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

  constructor(
    private readonly file: Pick<Deno.FsFile, "writeSync" | "seekSync" | "truncateSync">,
  ) {}

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

/**
 * The inode flags chattr sets and lsattr shows, by letter: the ones a
 * backup keeps. Flags the file system sets itself (`e` extents, `I`
 * indexed, `E` encrypted, `N` inline data, `V` verity) are left out: they
 * cannot be set, and another file system would refuse them.
 */
export const FILE_FLAGS: readonly (readonly [letter: string, bit: number])[] = [
  ["s", 0x1],
  ["u", 0x2],
  ["c", 0x4],
  ["S", 0x8],
  ["d", 0x40],
  ["A", 0x80],
  ["m", 0x400],
  ["j", 0x4000],
  ["t", 0x8000],
  ["D", 0x10000],
  ["T", 0x20000],
  ["C", 0x800000],
  ["x", 0x2000000],
  ["P", 0x20000000],
  ["F", 0x40000000],
  // Last: once set, nothing else may change the file.
  ["a", 0x20],
  ["i", 0x10],
];

const FLAGS_KEPT = FILE_FLAGS.reduce((m, [, bit]) => m | bit, 0) >>> 0;

/** `flags` as lsattr's letters (`ia`), in {@link FILE_FLAGS} order. */
export function flagLetters(flags: number): string {
  return FILE_FLAGS.filter(([, bit]) => (flags & bit) !== 0).map(([l]) => l).join("");
}

function openFlags(path: string): number {
  return linux.open(path, linux.O_RDONLY | linux.O_NONBLOCK | linux.O_NOFOLLOW, 0);
}

/**
 * The kept inode flags ({@link FILE_FLAGS}) of the file or directory at
 * `path`, read with FS_IOC_GETFLAGS; 0 where they cannot be read (not
 * Linux, a file system without flags, no permission to open it).
 */
export function readFileFlags(path: string): number {
  if (!supported) return 0;
  let fd: number;
  try {
    fd = openFlags(path);
  } catch {
    return 0;
  }
  try {
    return (linux.getFlags(fd, path) & FLAGS_KEPT) >>> 0;
  } catch {
    return 0;
  } finally {
    linux.close(fd);
  }
}

/**
 * Gives the file or directory at `path` (not following a final link) the
 * kept flags `flags`, leaving the file system's own as they are, with
 * FS_IOC_SETFLAGS: call it last, after data, owner, mode, xattrs and times,
 * since an immutable file takes none of them. Returns null when all were
 * set, else the letters refused and why (each was tried alone, `i` last).
 */
export function writeFileFlags(
  path: string,
  flags: number,
): { letters: string; why: string } | null {
  need("setting file flags");
  let fd: number;
  try {
    fd = openFlags(path);
  } catch (err) {
    return { letters: flagLetters(flags), why: reason(err) };
  }
  try {
    const current = linux.getFlags(fd, path);
    const want = ((current & ~FLAGS_KEPT) | (flags & FLAGS_KEPT)) >>> 0;
    if (want === current) return null;
    try {
      linux.setFlags(fd, want, path);
      return null;
    } catch (err) {
      // Which ones? One at a time, the rest kept.
      let now = current;
      let refused = "";
      for (const [letter, bit] of FILE_FLAGS) {
        if ((want & bit) === (now & bit)) continue;
        const next = ((now & ~bit) | (want & bit)) >>> 0;
        try {
          linux.setFlags(fd, next, path);
          now = next;
        } catch {
          refused += letter;
        }
      }
      return { letters: refused || flagLetters(flags), why: reason(err) };
    }
  } catch (err) {
    return { letters: flagLetters(flags), why: reason(err) };
  } finally {
    linux.close(fd);
  }
}

const reason = (err: unknown) => err instanceof OsError ? err.reason : (err as Error).message;
