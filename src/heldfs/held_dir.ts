/**
 * Deno has no `openat(2)`. Linux gives the same guarantee through procfs:
 * `/proc/self/fd/N` names the very directory descriptor N holds, whatever
 * has happened to its path since, so `/proc/self/fd/N/name` resolves one
 * single component inside that directory. Every Deno call that does not
 * follow a final link (mkdir, lstat, symlink, rename, link, unlink, and
 * open with `createNew`) is then as safe as its `*at` twin. Directories are
 * opened with `O_DIRECTORY | O_NOFOLLOW` through `node:fs`, whose
 * descriptors are real ones (threads of this process, the file-saver
 * workers, share them), and their device and inode are checked against what
 * the caller saw. Measured against `Deno.dlopen` of libc's `*at` calls this
 * costs nothing extra per file and needs no `--allow-ffi`, per-architecture
 * flag values or errno plumbing (README, "Choices, and why").
 *
 * Where `/proc/self/fd` is missing (macOS, Windows, a chroot without
 * procfs), {@link HELD} is false and a held directory falls back to its
 * path: the same checks, with the old race window (docs/MIRROR.md, Limits).
 */
import fs from "node:fs";
import { byteFs, isByteName } from "../platform/mod.ts";

const C = fs.constants;
const DIR_FLAGS = C.O_RDONLY | (C.O_DIRECTORY ?? 0) | (C.O_NOFOLLOW ?? 0);

/** Paths of the directories held now, by descriptor, to put back in messages. */
const shownByFd = new Map<number, string>();

/**
 * `text` (an error message) with every `/proc/self/fd/N` of a directory
 * held by this thread replaced by that directory's path.
 */
export function unheld(text: string): string {
  if (shownByFd.size === 0) return text;
  return text.replace(
    /\/proc\/(?:self|\d+)\/fd\/(\d+)/g,
    (all, fd) => shownByFd.get(Number(fd)) ?? all,
  );
}

/** Can directories be held (Linux with procfs)? */
export const HELD: boolean = (() => {
  if (Deno.build.os !== "linux") return false;
  try {
    return Deno.statSync("/proc/self/fd").isDirectory;
  } catch {
    return false;
  }
})();

/** A directory was not what the caller checked it to be: refuse to write into it. */
export class DirChangedError extends Error {
  override name = "DirChangedError";
}

/** Device and inode of a directory, as lstat saw it. */
export interface DirId {
  dev: number;
  ino: number | null;
}

/**
 * A directory held open. {@link at} gives a path to one entry in it that
 * the kernel resolves inside this very directory; {@link self} the
 * directory itself (for chmod, utime, chown, stat: they follow the
 * descriptor, never a link in its place).
 */
export class HeldDir {
  #closed = false;

  private constructor(
    /** The descriptor, or -1 when {@link HELD} is false. */
    readonly fd: number,
    /** Where the directory was when opened, for messages (and the fallback). */
    readonly path: string,
    readonly dev: number,
    readonly ino: number,
    readonly mode: number,
  ) {
    if (fd >= 0) shownByFd.set(fd, path);
  }

  /**
   * Opens the directory at `path`, following links in `path`: it is the
   * place the user chose. Fails if it is not a directory.
   */
  static open(path: string): HeldDir {
    if (!HELD) {
      const st = Deno.statSync(path);
      if (!st.isDirectory) throw new DirChangedError(`${path} is not a directory`);
      return new HeldDir(-1, path, st.dev, st.ino ?? 0, st.mode ?? 0);
    }
    const fd = fs.openSync(path, C.O_RDONLY | (C.O_DIRECTORY ?? 0));
    return HeldDir.#wrap(fd, path, undefined);
  }

  static #wrap(fd: number, path: string, expect: DirId | undefined): HeldDir {
    let st: fs.Stats;
    try {
      st = fs.fstatSync(fd);
      if (!st.isDirectory()) throw new DirChangedError(`${path} is not a directory`);
      if (expect && (st.dev !== expect.dev || (expect.ino !== null && st.ino !== expect.ino))) {
        throw new DirChangedError(`${path} was replaced while cairn was writing into it`);
      }
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return new HeldDir(fd, path, st.dev, st.ino, st.mode);
  }

  /** This directory's own path for calls that follow it (stat, chmod, utime, chown). */
  get self(): string {
    this.#check();
    return this.fd < 0 ? this.path : `/proc/self/fd/${this.fd}`;
  }

  /** A path to entry `name` (one path component) of this directory. */
  at(name: string): string {
    this.#check();
    return this.fd < 0 ? `${this.path}/${name}` : `/proc/self/fd/${this.fd}/${name}`;
  }

  /**
   * {@link at} for another process (mkfifo, mknod): `/proc/self` would be
   * that process, so the path names this one by pid.
   */
  atForChild(name: string): string {
    this.#check();
    return this.fd < 0 ? `${this.path}/${name}` : `/proc/${Deno.pid}/fd/${this.fd}/${name}`;
  }

  /** The path `at(name)` stands for, for messages. */
  shown(name: string): string {
    return `${this.path === "/" ? "" : this.path}/${name}`;
  }

  /**
   * Opens subdirectory `name`, refusing a link or anything but a directory
   * there (ENOTDIR, ELOOP) and, given `expect`, a directory other than the
   * one the caller saw.
   */
  child(name: string, expect?: DirId): HeldDir {
    const path = this.shown(name);
    if (this.fd < 0) {
      const st = Deno.lstatSync(path);
      if (!st.isDirectory) throw new DirChangedError(`${path} is not a directory`);
      if (expect && (st.dev !== expect.dev || (expect.ino !== null && st.ino !== expect.ino))) {
        throw new DirChangedError(`${path} was replaced while cairn was writing into it`);
      }
      return new HeldDir(-1, path, st.dev, st.ino ?? 0, st.mode ?? 0);
    }
    let fd: number;
    try {
      // A name that is not UTF-8 is opened by libc, with the same flags.
      fd = isByteName(name)
        ? byteFs.openDirFd(this.at(name))
        : fs.openSync(this.at(name), DIR_FLAGS);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ENOTDIR" || code === "ELOOP") {
        throw new DirChangedError(`${path} is not a directory (a link or a file is there)`);
      }
      throw err;
    }
    return HeldDir.#wrap(fd, path, expect);
  }

  /**
   * Makes entry `name` a real directory, replacing a file or link in the
   * way (the entry, never what a link points to), and opens it. An
   * existing directory is kept and made writable for its owner, so a second
   * run into the same place works. `made` tells whether it is new.
   */
  ensureDir(name: string, opts: { likelyThere?: boolean } = {}): { dir: HeldDir; made: boolean } {
    const at = this.at(name);
    // mkdir first: into a new tree it succeeds, and a miss costs one
    // exception where an lstat first would cost one per new directory.
    // Where the caller expects the directory there (a directory that was
    // there already), lstat first: that spares the exception.
    let made = true;
    let seen: DirId | undefined;
    const there = opts.likelyThere ? lstatIfThere(at) : null;
    if (there?.isDirectory) {
      made = false;
      seen = { dev: there.dev, ino: there.ino };
    } else {
      try {
        byteFs.mkdirSync(at, { mode: 0o700 });
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        made = false;
      }
    }
    if (!made && !seen) {
      const st = byteFs.lstatSync(at);
      if (!st.isDirectory) {
        byteFs.removeSync(at);
        byteFs.mkdirSync(at, { mode: 0o700 });
        made = true;
      } else seen = { dev: st.dev, ino: st.ino };
    }
    // The directory opened must be the one looked at (an existing one) or a real one (a new one).
    const dir = this.child(name, seen);
    if (!made && (dir.mode & 0o700) !== 0o700) {
      try {
        Deno.chmodSync(dir.self, (dir.mode & 0o7777) | 0o700);
      } catch (err) {
        dir.close();
        throw err;
      }
    }
    return { dir, made };
  }

  /** Closes the descriptor; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.fd < 0) return;
    shownByFd.delete(this.fd);
    fs.closeSync(this.fd);
  }

  get closed(): boolean {
    return this.#closed;
  }

  #check(): void {
    // A closed descriptor's number may already name another directory.
    if (this.#closed) throw new Error(`internal: ${this.path} used after its descriptor closed`);
  }
}

/** lstat of `path`, or null when nothing is there. */
function lstatIfThere(path: string): Deno.FileInfo | null {
  try {
    return byteFs.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Error thrown by {@link readRegularFile} for anything but a regular file. */
export class NotRegularFileError extends Error {
  override name = "NotRegularFileError";
}

/**
 * Reads a small file that must be a regular one (a lock, a marker): opened
 * with `O_NOFOLLOW | O_NONBLOCK` so neither a link nor a FIFO planted there
 * can redirect or hang the read, then checked with fstat. Throws NotFound
 * when nothing is there, {@link NotRegularFileError} for a link, FIFO,
 * device or directory. `bytes` is undefined when the file holds more than
 * `max` bytes.
 */
export function readRegularFile(
  path: string,
  max: number,
): { bytes: Uint8Array | undefined; st: fs.Stats } {
  let fd: number;
  try {
    fd = fs.openSync(path, C.O_RDONLY | (C.O_NOFOLLOW ?? 0) | (C.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") throw new Deno.errors.NotFound(`${path} does not exist`);
    if (code === "ELOOP") throw new NotRegularFileError(`${path} is a symbolic link`);
    if (code === "ENXIO") throw new NotRegularFileError(`${path} is not a regular file`);
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(`${path} is not a regular file`);
    if (st.size > max) return { bytes: undefined, st };
    const buf = new Uint8Array(st.size);
    let at = 0;
    while (at < buf.length) {
      const n = fs.readSync(fd, buf, at, buf.length - at, null);
      if (n === 0) break;
      at += n;
    }
    return { bytes: buf.subarray(0, at), st };
  } finally {
    fs.closeSync(fd);
  }
}
