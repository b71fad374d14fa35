/**
 * The Linux half of the platform module: libc calls through Deno's FFI,
 * opened on first use. Nothing outside `src/platform` sees a pointer.
 *
 * @module
 */
import { OsError } from "./os_error.ts";
import { BYTE_NAME_HINT, nameBytes, nameOfBytes, showName } from "./byte_names.ts";

const SYMBOLS = {
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  pwrite: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  pread: { parameters: ["i32", "buffer", "usize", "i64"], result: "isize" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  futimens: { parameters: ["i32", "buffer"], result: "i32" },
  chmod: { parameters: ["buffer", "u32"], result: "i32" },
  mkdir: { parameters: ["buffer", "u32"], result: "i32" },
  rmdir: { parameters: ["buffer"], result: "i32" },
  unlink: { parameters: ["buffer"], result: "i32" },
  symlink: { parameters: ["buffer", "buffer"], result: "i32" },
  link: { parameters: ["buffer", "buffer"], result: "i32" },
  rename: { parameters: ["buffer", "buffer"], result: "i32" },
  readlink: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | undefined;

function lib(): Libc {
  if (!libc) libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return libc;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const AT_EMPTY_PATH = 0x1000;
export const EPERM = 1;
export const ENOENT = 2;
export const EEXIST = 17;
export const EISDIR = 21;
export const ENOTEMPTY = 39;
export const EACCES = 13;
export const ENOTDIR = 20;
export const ELOOP = 40;
export const ENODATA = 61;
export const ENOTSUP = 95;
export const ERANGE = 34;
export const ENXIO = 6;
export const EINVAL = 22;
export const ENOTTY = 25;
export const O_RDONLY = 0;
export const O_NONBLOCK = 0o4000;
export const O_NOFOLLOW = 0o400000;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
/** _IOR('f', 1, long) and _IOW('f', 2, long) on 64-bit Linux; the kernel reads and writes an int. */
const FS_IOC_GETFLAGS = 0x80086601n;
const FS_IOC_SETFLAGS = 0x40086602n;

function errno(): number {
  const p = lib().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

function fail(call: string, what: string): OsError {
  const e = errno();
  const s = lib().strerror(e);
  const text = s === null ? `errno ${e}` : Deno.UnsafePointerView.getCString(s);
  return new OsError(e, `${call} ${showName(what)}: ${text}`, text);
}

const enc = new TextEncoder();
const dec = new TextDecoder();
/** A path as the C string the kernel sees: a byte name's bytes as they are (`byte_names.ts`). */
const cstr = (s: string) => BYTE_NAME_HINT.test(s) ? nameBytes(s + "\0") : enc.encode(s + "\0");

/** Names of the extended attributes of `path` (not following a link). */
export function listXattrNames(path: string): string[] {
  const p = cstr(path);
  for (let attempt = 0;; attempt++) {
    const size = Number(lib().llistxattr(p, null, 0n));
    if (size < 0) throw fail("llistxattr", path);
    if (size === 0) return [];
    const buf = new Uint8Array(size);
    const got = Number(lib().llistxattr(p, buf, BigInt(size)));
    if (got < 0) {
      if (errno() === ERANGE && attempt < 3) continue; // grew between the calls
      throw fail("llistxattr", path);
    }
    return dec.decode(buf.subarray(0, got)).split("\0").filter((n) => n.length > 0);
  }
}

/** The value of one extended attribute, or null when it is gone. */
export function getXattr(path: string, name: string): Uint8Array | null {
  const p = cstr(path);
  const n = cstr(name);
  for (let attempt = 0;; attempt++) {
    const size = Number(lib().lgetxattr(p, n, null, 0n));
    if (size < 0) {
      if (errno() === ENODATA) return null;
      throw fail("lgetxattr", `${path} ${name}`);
    }
    const buf = new Uint8Array(size);
    if (size === 0) return buf;
    const got = Number(lib().lgetxattr(p, n, buf, BigInt(size)));
    if (got < 0) {
      if (errno() === ERANGE && attempt < 3) continue;
      if (errno() === ENODATA) return null;
      throw fail("lgetxattr", `${path} ${name}`);
    }
    return buf.subarray(0, got);
  }
}

/** Sets one extended attribute of `path` (not following a link). */
export function setXattr(path: string, name: string, value: Uint8Array): void {
  // FFI passes an empty buffer as null, which the kernel accepts for size 0.
  const r = lib().lsetxattr(cstr(path), cstr(name), value, BigInt(value.length), 0);
  if (r !== 0) throw fail("lsetxattr", `${path} ${name}`);
}

/** Sets atime and mtime (in nanoseconds) of `path` itself, even a symlink. */
export function lutimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  utimens(path, atimeNs, mtimeNs, AT_SYMLINK_NOFOLLOW);
}

/** Sets atime and mtime (in nanoseconds) of `path`, following a final link. */
export function utimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  utimens(path, atimeNs, mtimeNs, 0);
}

function utimens(path: string, atimeNs: bigint, mtimeNs: bigint, flags: number): void {
  const r = lib().utimensat(AT_FDCWD, cstr(path), timespecs(atimeNs, mtimeNs), flags);
  if (r !== 0) throw fail("utimensat", path);
}

/** Sets atime and mtime (in nanoseconds) of the file open as `fd`. */
export function futimens(fd: number, atimeNs: bigint, mtimeNs: bigint, what: string): void {
  if (lib().futimens(fd, timespecs(atimeNs, mtimeNs)) !== 0) throw fail("futimens", what);
}

/**
 * {@link futimens} with the times as the decimal strings of nanoseconds
 * trees hold: a time after 1970 (and before 2^53 seconds) is split as text
 * and written into one reused buffer, no BigInt on the way.
 */
export function futimensNs(fd: number, atimeNs: string, mtimeNs: string, what: string): void {
  if (!putTimespec(atimeNs, 0) || !putTimespec(mtimeNs, 4)) {
    return futimens(fd, BigInt(atimeNs), BigInt(mtimeNs), what);
  }
  if (lib().futimens(fd, TIMES_BYTES) !== 0) throw fail("futimens", what);
}
const TIMES = new Int32Array(8);
const TIMES_BYTES = new Uint8Array(TIMES.buffer);

/** One struct timespec (little-endian i64 seconds, i64 nanoseconds) into TIMES at `at`. */
function putTimespec(ns: string, at: number): boolean {
  if (ns.length < 10 || ns.length > 24 || ns[0] === "-") return false;
  const sec = Number(ns.slice(0, -9));
  const nsec = Number(ns.slice(-9));
  if (!Number.isSafeInteger(sec) || !(nsec >= 0 && nsec < 1e9)) return false;
  const high = Math.floor(sec / 0x1_0000_0000);
  TIMES[at] = sec - high * 0x1_0000_0000;
  TIMES[at + 1] = high;
  TIMES[at + 2] = nsec;
  TIMES[at + 3] = 0;
  return true;
}

/** Two struct timespec as utimensat(2) reads them. */
function timespecs(atimeNs: bigint, mtimeNs: bigint): Uint8Array {
  const ts = new BigInt64Array([
    atimeNs / 1_000_000_000n,
    atimeNs % 1_000_000_000n,
    mtimeNs / 1_000_000_000n,
    mtimeNs % 1_000_000_000n,
  ]);
  // A negative time's nanoseconds must lie in [0, 1e9).
  for (const i of [0, 2]) {
    if (ts[i + 1] < 0n) {
      ts[i] -= 1n;
      ts[i + 1] += 1_000_000_000n;
    }
  }
  return new Uint8Array(ts.buffer);
}

/** statx's result, read in place: one buffer, reused (calls are synchronous). */
const STATX = new Uint8Array(256);
const statxView = new DataView(STATX.buffer);
/** The path as a C string; grown for a longer path. */
let pathBuf = new Uint8Array(4096 + 1);
const STATX_BASIC_STATS = 0x7ff;
const STATX_BTIME = 0x800;

/** One timestamp of a statx result: whole seconds and the nanoseconds past them. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

/** What statx reports of `path` itself (not following a final link). */
export interface Statx {
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  ino: number;
  size: number;
  blocks: number;
  blksize: number;
  atime: Timestamp;
  mtime: Timestamp;
  ctime: Timestamp;
  birthtime: Timestamp | null;
  /** As glibc's makedev() packs them, the value stat's st_dev and st_rdev hold. */
  dev: number;
  rdev: number;
}

function u64(at: number): number {
  return statxView.getUint32(at + 4, true) * 0x1_0000_0000 + statxView.getUint32(at, true);
}

function stamp(at: number): Timestamp {
  const sec = statxView.getInt32(at + 4, true) * 0x1_0000_0000 + statxView.getUint32(at, true);
  return { sec, nsec: statxView.getUint32(at + 8, true) };
}

/** glibc's makedev(): the 64-bit device number Deno's stat reports. */
function makedev(major: number, minor: number): number {
  return (Math.floor(major / 0x1000) * 0x1000) * 0x1_0000_0000 + (major % 0x1000) * 0x100 +
    Math.floor(minor / 0x100) * 0x10_0000 + (minor % 0x100);
}

/**
 * statx(2) of `path` (with AT_SYMLINK_NOFOLLOW unless `follow`), or with `fd`
 * of that open descriptor (`path` then is "", AT_EMPTY_PATH): everything
 * lstat gives, and every timestamp to the nanosecond. Fails as {@link fail} does, with
 * `errno` telling why.
 */
export function statx(path: string, follow = false, fd?: number): Statx {
  const mask = callStatx(path, follow, fd);
  return {
    blksize: statxView.getUint32(4, true),
    nlink: statxView.getUint32(16, true),
    uid: statxView.getUint32(20, true),
    gid: statxView.getUint32(24, true),
    mode: statxView.getUint16(28, true),
    ino: u64(32),
    size: u64(40),
    blocks: u64(48),
    atime: stamp(64),
    birthtime: mask & STATX_BTIME ? stamp(80) : null,
    ctime: stamp(96),
    mtime: stamp(112),
    rdev: makedev(statxView.getUint32(128, true), statxView.getUint32(132, true)),
    dev: makedev(statxView.getUint32(136, true), statxView.getUint32(140, true)),
  };
}

/**
 * {@link statx} of `path` (not following a final link) written as
 * numbers into `out` from `at`, in the order of {@link STATX_FIELDS}: no
 * object per call, for walks that stat every entry. Given `dirFd`, `path`
 * is a name in that open directory (statx's dirfd, as fstatat).
 */
export function statxInto(path: string, out: Float64Array, at: number, dirFd?: number): void {
  const mask = callStatx(path, false, undefined, dirFd);
  out[at] = statxView.getUint16(28, true);
  out[at + 1] = u64(40);
  stampInto(112, out, at + 2);
  stampInto(64, out, at + 4);
  stampInto(96, out, at + 6);
  if (mask & STATX_BTIME) stampInto(80, out, at + 8);
  else out[at + 8] = out[at + 9] = NaN;
  out[at + 10] = statxView.getUint32(20, true);
  out[at + 11] = statxView.getUint32(24, true);
  out[at + 12] = u64(32);
  out[at + 13] = makedev(statxView.getUint32(136, true), statxView.getUint32(140, true));
  out[at + 14] = statxView.getUint32(16, true);
  out[at + 15] = makedev(statxView.getUint32(128, true), statxView.getUint32(132, true));
}

/**
 * What {@link statxInto} writes, in order: mode (with the type bits),
 * size, mtime, atime, ctime and birthtime as seconds and nanoseconds (NaN
 * for a birthtime the filesystem lacks), uid, gid, inode, dev, nlink, rdev.
 */
export const STATX_FIELDS = 16;

function stampInto(at: number, out: Float64Array, to: number): void {
  out[to] = statxView.getInt32(at + 4, true) * 0x1_0000_0000 + statxView.getUint32(at, true);
  out[to + 1] = statxView.getUint32(at + 8, true);
}

/** Calls statx(2), leaving its result in `STATX`; returns the result mask. */
function callStatx(path: string, follow: boolean, fd: number | undefined, dirFd?: number): number {
  if (path.length * 3 + 1 > pathBuf.length) pathBuf = new Uint8Array(path.length * 3 + 1);
  if (BYTE_NAME_HINT.test(path)) {
    const bytes = nameBytes(path);
    pathBuf.set(bytes);
    pathBuf[bytes.length] = 0;
  } else {
    const { written } = enc.encodeInto(path, pathBuf);
    pathBuf[written] = 0;
  }
  const flags = fd !== undefined ? AT_EMPTY_PATH : follow ? 0 : AT_SYMLINK_NOFOLLOW;
  const at = fd ?? dirFd ?? AT_FDCWD;
  const r = lib().statx(at, pathBuf, flags, STATX_BASIC_STATS | STATX_BTIME, STATX);
  if (r !== 0) {
    const e = fail("statx", path);
    // Worded as Deno's own lstat errors are, which messages already show.
    const call = follow ? "stat" : "lstat";
    throw new OsError(
      e.errno,
      `${e.reason} (os error ${e.errno}): ${call} '${showName(path)}'`,
      e.reason,
    );
  }
  return statxView.getUint32(0, true);
}

/** Sets the owner of `path` itself, even a symlink (lchown(2)). */
export function lchown(path: string, uid: number, gid: number): void {
  if (lib().lchown(cstr(path), uid, gid) !== 0) throw fail("lchown", path);
}

/**
 * lseek(2) with SEEK_DATA (`data`) or SEEK_HOLE from `offset`: the next
 * offset at or after it that starts data, or a hole; -1 when no data
 * follows (ENXIO). A file system without hole support reports all data.
 */
export function seekDataOrHole(fd: number, offset: number, data: boolean, what: string): number {
  const r = Number(lib().lseek(fd, BigInt(offset), data ? SEEK_DATA : SEEK_HOLE));
  if (r >= 0) return r;
  if (errno() === ENXIO) return -1;
  throw fail("lseek", what);
}

const flagsBuf = new Int32Array(2);

/** The inode flags (chattr's) of an open file or directory (FS_IOC_GETFLAGS). */
export function getFlags(fd: number, what: string): number {
  flagsBuf[0] = 0;
  if (lib().ioctl(fd, FS_IOC_GETFLAGS, new Uint8Array(flagsBuf.buffer)) !== 0) {
    throw fail("ioctl FS_IOC_GETFLAGS", what);
  }
  return flagsBuf[0] >>> 0;
}

/** Sets the inode flags of an open file or directory (FS_IOC_SETFLAGS). */
export function setFlags(fd: number, flags: number, what: string): void {
  flagsBuf[0] = flags | 0;
  if (lib().ioctl(fd, FS_IOC_SETFLAGS, new Uint8Array(flagsBuf.buffer)) !== 0) {
    throw fail("ioctl FS_IOC_SETFLAGS", what);
  }
}

// Calls on paths that may hold a byte name (a name that is not UTF-8, which
// Deno's own calls cannot reach). Each takes the path as `byte_names.ts`
// spells it and fails with an OsError carrying errno.

const check = (r: number | bigint, call: string, what: string) => {
  if (Number(r) < 0) throw fail(call, what);
};

/** open(2) of `path` with `flags` (O_CLOEXEC added): a descriptor. */
export function open(path: string, flags: number, mode: number): number {
  const fd = lib().open(cstr(path), flags | O_CLOEXEC, mode);
  check(fd, "open", path);
  return fd;
}
const O_CLOEXEC = 0o2000000;

/** openat(2) of entry `name` of the directory open as `dirFd` (O_CLOEXEC added). */
export function openAt(dirFd: number, name: string, flags: number, mode: number, what: string) {
  const fd = lib().openat(dirFd, cstr(name), flags | O_CLOEXEC, mode);
  check(fd, "open", what);
  return fd;
}

export function close(fd: number): void {
  lib().close(fd);
}

const EINTR = 4;
const SEEK_SET = 0;

/** lseek(2) to `offset` from the start: the new offset. */
export function seekSet(fd: number, offset: number): number {
  return Number(lib().lseek(fd, BigInt(offset), SEEK_SET));
}

/** read(2) into `buf`: the bytes read, 0 at the end of the file. */
export function read(fd: number, buf: Uint8Array, what: string): number {
  for (;;) {
    const n = Number(lib().read(fd, buf, BigInt(buf.length)));
    if (n >= 0) return n;
    if (errno() !== EINTR) throw fail("read", what);
  }
}

/**
 * What a reader compares before and after reading an open file (statx of
 * the descriptor), written into `out`: size, blocks (512 bytes), inode,
 * dev, mtime and ctime as seconds and nanoseconds.
 */
export function fstatInto(fd: number, out: Float64Array, what: string): void {
  const r = lib().statx(fd, EMPTY_PATH, AT_EMPTY_PATH, STATX_BASIC_STATS, STATX);
  if (r !== 0) throw fail("fstat", what);
  out[0] = u64(40);
  out[1] = u64(48);
  out[2] = u64(32);
  out[3] = makedev(statxView.getUint32(136, true), statxView.getUint32(140, true));
  stampInto(112, out, 4);
  stampInto(96, out, 6);
}
const EMPTY_PATH = new Uint8Array(1);

export function fchmod(fd: number, mode: number, what: string): void {
  check(lib().fchmod(fd, mode), "fchmod", what);
}

export function fchown(fd: number, uid: number, gid: number, what: string): void {
  check(lib().fchown(fd, uid, gid), "fchown", what);
}

/** pwrite(2): the bytes written, at least one unless `bytes` is empty. */
export function pwrite(fd: number, bytes: Uint8Array, offset: number, what: string): number {
  const n = lib().pwrite(fd, bytes, BigInt(bytes.length), BigInt(offset));
  check(n, "write", what);
  return Number(n);
}

/** pread(2): the bytes read, 0 at the end. */
export function pread(fd: number, into: Uint8Array, offset: number, what: string): number {
  const n = lib().pread(fd, into, BigInt(into.length), BigInt(offset));
  check(n, "read", what);
  return Number(n);
}

export function ftruncate(fd: number, length: number, what: string): void {
  check(lib().ftruncate(fd, BigInt(length)), "ftruncate", what);
}

export function chmod(path: string, mode: number): void {
  check(lib().chmod(cstr(path), mode), "chmod", path);
}

export function mkdir(path: string, mode: number): void {
  check(lib().mkdir(cstr(path), mode), "mkdir", path);
}

export function rmdir(path: string): void {
  check(lib().rmdir(cstr(path)), "rmdir", path);
}

export function unlink(path: string): void {
  check(lib().unlink(cstr(path)), "unlink", path);
}

export function symlink(target: string, path: string): void {
  check(lib().symlink(cstr(target), cstr(path)), "symlink", path);
}

export function link(from: string, to: string): void {
  check(lib().link(cstr(from), cstr(to)), "link", to);
}

export function rename(from: string, to: string): void {
  check(lib().rename(cstr(from), cstr(to)), "rename", to);
}

/** mknod(2): a FIFO or a device node. */
export function mknod(path: string, mode: number, dev: bigint): void {
  check(lib().mknod(cstr(path), mode, dev), "mknod", path);
}

/** The text of link `path`, a byte name's way where it is not UTF-8. */
export function readlink(path: string): string {
  const p = cstr(path);
  for (let size = 4096;; size *= 4) {
    const buf = new Uint8Array(size);
    const n = Number(lib().readlink(p, buf, BigInt(size)));
    check(n, "readlink", path);
    if (n < size) return nameOfBytes(buf.subarray(0, n));
  }
}

/** The names in directory `path` (without `.` and `..`), each exactly as the kernel gives it. */
export function readdirNames(path: string): string[] {
  const dir = lib().opendir(cstr(path));
  if (dir === null) throw fail("opendir", path);
  const names: string[] = [];
  try {
    for (;;) {
      const ent = lib().readdir(dir);
      if (ent === null) break;
      // struct dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
      const view = new Deno.UnsafePointerView(ent);
      const reclen = view.getUint16(16);
      const bytes = new Uint8Array(view.getArrayBuffer(reclen - 19, 19));
      const end = bytes.indexOf(0);
      const name = bytes.subarray(0, end < 0 ? bytes.length : end);
      if (name.length === 1 && name[0] === 0x2e) continue;
      if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) continue;
      names.push(nameOfBytes(name));
    }
  } finally {
    lib().closedir(dir);
  }
  return names;
}
