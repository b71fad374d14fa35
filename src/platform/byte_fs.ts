/**
 * Deno's synchronous file calls, for paths that may hold a byte name (a
 * name that is not UTF-8, spelled as `byte_names.ts` describes). A path
 * without one goes to Deno's own call, so the common case costs one regex
 * test; a path with one goes to libc on Linux and fails with the same
 * `Deno.errors` class Deno's call would, so callers' error handling holds.
 * Elsewhere no listing ever yields a byte name.
 *
 * @module
 */
import fs from "node:fs";
import * as linux from "./_linux.ts";
import { BYTE_NAME_HINT, isByteName } from "./byte_names.ts";
import { OsError } from "./os_error.ts";
import { lstat } from "./mod.ts";

const raw = (path: string) => BYTE_NAME_HINT.test(path) && isByteName(path);

/** The `Deno.errors` class a caller of Deno's own call branches on, for a failed libc call. */
export function denoError(err: unknown): unknown {
  if (!(err instanceof OsError)) return err;
  const message = err.message;
  switch (err.errno) {
    case linux.ENOENT:
      return new Deno.errors.NotFound(message);
    case linux.EACCES:
    case linux.EPERM:
      return new Deno.errors.PermissionDenied(message);
    case linux.ENOTDIR:
      return new Deno.errors.NotADirectory(message);
    case linux.ELOOP:
      return new Deno.errors.FilesystemLoop(message);
    case linux.EEXIST:
      return new Deno.errors.AlreadyExists(message);
    case linux.EISDIR:
      return new Deno.errors.IsADirectory(message);
    default:
      return err;
  }
}

function call<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw denoError(err);
  }
}

/** `Deno.lstatSync` (a byte name's by statx, with nanosecond times). */
export function lstatSync(path: string): Deno.FileInfo {
  return raw(path) ? lstat(path) : Deno.lstatSync(path);
}

/** `Deno.mkdirSync` of one directory (not recursive). */
export function mkdirSync(path: string, opts: { mode?: number } = {}): void {
  if (!raw(path)) return Deno.mkdirSync(path, opts);
  call(() => linux.mkdir(path, opts.mode ?? 0o777));
}

/**
 * `Deno.removeSync`: a file, link or empty directory; `recursive` removes
 * a directory with everything below it (never following a link).
 */
export function removeSync(path: string, opts: { recursive?: boolean } = {}): void {
  if (!raw(path)) return Deno.removeSync(path, opts);
  call(() => {
    try {
      return linux.unlink(path);
    } catch (err) {
      if (!(err instanceof OsError && (err.errno === linux.EISDIR || err.errno === linux.EPERM))) {
        throw err;
      }
    }
    if (opts.recursive) {
      for (const name of linux.readdirNames(path)) {
        const child = `${path}/${name}`;
        const st = linux.statx(child);
        if ((st.mode & 0o170000) === 0o040000) removeSync(child, opts);
        else linux.unlink(child);
      }
    }
    linux.rmdir(path);
  });
}

export function symlinkSync(target: string, path: string): void {
  if (!raw(path) && !raw(target)) return Deno.symlinkSync(target, path);
  call(() => linux.symlink(target, path));
}

export function linkSync(from: string, to: string): void {
  if (!raw(from) && !raw(to)) return Deno.linkSync(from, to);
  call(() => linux.link(from, to));
}

export function renameSync(from: string, to: string): void {
  if (!raw(from) && !raw(to)) return Deno.renameSync(from, to);
  call(() => linux.rename(from, to));
}

/**
 * `Deno.readLinkSync`: a target that is not UTF-8 (which Deno refuses) is
 * read by readlink(2) and comes back spelled as a byte name.
 */
export function readLinkSync(path: string): string {
  if (!raw(path)) {
    try {
      return Deno.readLinkSync(path);
    } catch (err) {
      // Deno refuses a target that is not UTF-8 ("is not valid UTF-8"): libc reads it.
      if (!(err instanceof Deno.errors.InvalidData) || Deno.build.os !== "linux") throw err;
    }
  }
  return call(() => linux.readlink(path));
}

/** `Deno.chmodSync` (follows a final link, as chmod(2) does). */
export function chmodSync(path: string, mode: number): void {
  if (!raw(path)) return Deno.chmodSync(path, mode);
  call(() => linux.chmod(path, mode));
}

/** `Deno.chownSync` of an entry that is not a link (a byte name's own, by lchown). */
export function chownSync(path: string, uid: number, gid: number): void {
  if (!raw(path)) return Deno.chownSync(path, uid, gid);
  call(() => linux.lchown(path, uid, gid));
}

/** mknod(2) of a FIFO or device node at a byte name (`mode` with its file type bits). */
export function mknodSync(path: string, mode: number, rdev: number): void {
  call(() => linux.mknod(path, mode, BigInt(rdev)));
}

/**
 * `Deno.openSync`. A byte name is opened by libc (with O_NOFOLLOW when
 * `createNew`, as Deno's O_EXCL implies) and the descriptor reopened as a
 * `Deno.FsFile` through `/proc/self/fd/N`, which names the file itself.
 */
export function openSync(path: string, opts: Deno.OpenOptions): Deno.FsFile {
  if (!raw(path)) return Deno.openSync(path, opts);
  const C = { RDONLY: 0, WRONLY: 1, RDWR: 2, CREAT: 0o100, EXCL: 0o200, TRUNC: 0o1000 };
  let flags = opts.write || opts.append ? (opts.read ? C.RDWR : C.WRONLY) : C.RDONLY;
  if (opts.createNew) flags |= C.CREAT | C.EXCL;
  else if (opts.create) flags |= C.CREAT;
  if (opts.truncate) flags |= C.TRUNC;
  return call(() => {
    // Created readable and writable for us, so the reopening below may open it.
    const fd = linux.open(path, flags, opts.createNew || opts.create ? 0o600 : 0);
    try {
      const file = Deno.openSync(`/proc/self/fd/${fd}`, {
        read: opts.read,
        write: opts.write,
        append: opts.append,
      });
      if (opts.createNew && opts.mode !== undefined) {
        linux.fchmod(fd, opts.mode & 0o7777 & ~UMASK, path);
      }
      return file;
    } finally {
      linux.close(fd);
    }
  });
}
const UMASK = Deno.build.os === "linux" ? Deno.umask() : 0o022;

/**
 * Opens directory `path` for holding (O_RDONLY | O_DIRECTORY | O_NOFOLLOW):
 * a descriptor of node:fs (libc's, reopened through `/proc/self/fd/N`, as
 * node:fs knows only its own). Fails as node:fs would, with `code` ENOTDIR
 * or ELOOP for anything but a directory.
 */
export function openDirFd(path: string): number {
  const C = fs.constants;
  const O_DIRECTORY = C.O_DIRECTORY ?? 0;
  let fd: number;
  try {
    fd = linux.open(path, O_DIRECTORY | (C.O_NOFOLLOW ?? 0), 0);
  } catch (err) {
    if (err instanceof OsError) {
      const code = err.errno === linux.ENOTDIR
        ? "ENOTDIR"
        : err.errno === linux.ELOOP
        ? "ELOOP"
        : undefined;
      if (code) throw Object.assign(denoError(err) as Error, { code });
    }
    throw denoError(err);
  }
  try {
    return fs.openSync(`/proc/self/fd/${fd}`, C.O_RDONLY | O_DIRECTORY);
  } finally {
    linux.close(fd);
  }
}

/**
 * The names in directory `path`, sorted: Deno's readDir, unless a name there
 * is not UTF-8 (Deno shows it with U+FFFD) or `path` holds a byte name;
 * then read with readdir(3), every name byte for byte.
 */
export function readDirNames(path: string): string[] {
  const names: string[] = [];
  if (!raw(path)) {
    let lossy = false;
    for (const e of Deno.readDirSync(path)) {
      if (e.name.includes("\uFFFD")) lossy = true;
      names.push(e.name);
    }
    if (!lossy || Deno.build.os !== "linux") return names.sort(byCodeUnit);
    names.length = 0;
  }
  names.push(...call(() => linux.readdirNames(path)));
  return names.sort(byCodeUnit);
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
