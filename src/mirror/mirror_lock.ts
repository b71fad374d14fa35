import process from "node:process";
import { NotRegularFileError, readRegularFile } from "../heldfs/mod.ts";
import { lstatOrNull } from "../fs/mod.ts";
import { tempBeside } from "./file_writer.ts";
import { MIRROR_LOCK_NAME, MirrorRefusedError, openMirrorFolder } from "./marker.ts";

/** A lock whose file has not been touched for this long is stale, whoever holds it. */
export const MIRROR_LOCK_STALE_MS = 6 * 3600_000;
/** How often a held lock's mtime is touched, so that a long run never looks stale. */
export const MIRROR_LOCK_REFRESH_MS = 10 * 60_000;
/** An unreadable lock (its holder died between creating and writing it) is stale this soon. */
const UNREADABLE_STALE_MS = 60_000;

/** What a lock file holds. */
export interface MirrorLockInfo {
  host: string;
  pid: number;
  /** When the lock was taken (ISO 8601). */
  time: string;
}

export interface MirrorLockOptions {
  /** Default `Deno.hostname()`: the machine, not a job's `host`, as pids are per machine. */
  host?: string;
  /** The clock; default `Date.now`. */
  now?: () => number;
  /** Default {@link MIRROR_LOCK_STALE_MS}. */
  staleMs?: number;
  /** Default {@link MIRROR_LOCK_REFRESH_MS}; 0 never. */
  refreshMs?: number;
  onWarning?: (message: string) => void;
}

/** Locks this process holds, by lock file path; released at the latest when the process exits. */
const held = new Map<string, MirrorLock>();
let unloadHooked = false;

/**
 * The lock of one mirror folder: `.cairn-mirror.lock`, created with
 * `O_EXCL` and holding {@link MirrorLockInfo}, so that two runs never write
 * (or purge, or thin) one mirror at once.
 *
 * A lock is stale, and is replaced with a warning, when it names this host
 * and a process that is gone (`/proc/PID` on Linux, `kill(pid, 0)`
 * elsewhere; a pid of this very process counts as gone unless this process
 * holds that lock), when its file was not touched for
 * {@link MIRROR_LOCK_STALE_MS} (the holder touches it every
 * {@link MIRROR_LOCK_REFRESH_MS}; this covers other hosts and reused pids),
 * or when it cannot be read and is a minute old. Otherwise the run is
 * refused with {@link MirrorRefusedError}.
 */
export class MirrorLock {
  #timer: ReturnType<typeof setInterval> | undefined;
  #released = false;

  private constructor(
    /** The lock file. */
    readonly path: string,
    readonly info: MirrorLockInfo,
    /** Its inode: the lock is ours only while the file there is this one. */
    private readonly ino: number | null,
    private readonly opts: MirrorLockOptions,
  ) {
    const refreshMs = opts.refreshMs ?? MIRROR_LOCK_REFRESH_MS;
    if (refreshMs > 0) {
      const timer = setInterval(() => this.#refresh(), refreshMs);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
    held.set(path, this);
    if (!unloadHooked) {
      unloadHooked = true;
      // A backstop for a run that ends without release (an exception past its caller).
      globalThis.addEventListener("unload", () => {
        for (const lock of [...held.values()]) lock.release();
      });
    }
  }

  /** Takes the lock of `folder` (created if missing), replacing a stale one. */
  static acquire(folder: string, opts: MirrorLockOptions = {}): MirrorLock {
    const real = openMirrorFolder(folder);
    const path = `${real === "/" ? "" : real}/${MIRROR_LOCK_NAME}`;
    const now = opts.now ?? Date.now;
    const info: MirrorLockInfo = {
      host: opts.host ?? Deno.hostname(),
      pid: Deno.pid,
      time: new Date(now()).toISOString(),
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      let file: Deno.FsFile;
      try {
        file = Deno.openSync(path, { write: true, createNew: true, mode: 0o644 });
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        const found = readLock(folder, path);
        if (!found) continue; // released meanwhile
        const why = staleReason(path, found, info.host, now(), opts.staleMs);
        if (why === undefined) throw new MirrorRefusedError(refusal(folder, path, found.info));
        if (breakLock(path, found.ino)) {
          const who = found.info ? ` (${describe(found.info)})` : "";
          opts.onWarning?.(`replaced the stale mirror lock ${path}${who}: ${why}`);
        }
        continue;
      }
      try {
        const bytes = new TextEncoder().encode(JSON.stringify(info) + "\n");
        let at = 0;
        while (at < bytes.length) at += file.writeSync(bytes.subarray(at));
        return new MirrorLock(path, info, file.statSync().ino, opts);
      } catch (err) {
        try {
          Deno.removeSync(path);
        } catch { /* it is unreadable, so stale within a minute */ }
        throw err;
      } finally {
        file.close();
      }
    }
    throw new MirrorRefusedError(
      `Refusing to mirror into ${folder}: its lock ${path} keeps changing hands`,
    );
  }

  /** Removes the lock file, if it is still ours. Safe to call twice; never throws. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    held.delete(this.path);
    try {
      if (this.#ours()) Deno.removeSync(this.path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        this.opts.onWarning?.(
          `cannot remove the mirror lock ${this.path}: ${(err as Error).message}`,
        );
      }
    }
  }

  #ours(): boolean {
    const st = lstatOrNull(this.path);
    return st !== null && st.ino === this.ino;
  }

  #refresh(): void {
    try {
      if (!this.#ours()) {
        clearInterval(this.#timer);
        this.opts.onWarning?.(`the mirror lock ${this.path} was taken over by another run`);
        return;
      }
      const t = new Date((this.opts.now ?? Date.now)());
      Deno.utimeSync(this.path, t, t);
    } catch { /* the next touch may work; a lock left untouched only goes stale */ }
  }
}

/** Is process `pid` of this host alive? A zombie is not. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (Deno.build.os === "linux") {
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
      return true; // cannot tell: assume it lives, the age bound still applies
    }
    // "pid (comm) S …": comm may hold spaces and parentheses, the state follows the last ")".
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code !== "ESRCH";
  }
}

interface FoundLock {
  /** Undefined when the file holds no valid lock. */
  info: MirrorLockInfo | undefined;
  mtimeMs: number;
  ino: number | null;
}

/**
 * The lock at `path`, or null when there is none. Opened with O_NOFOLLOW
 * and O_NONBLOCK, so a FIFO planted there cannot hang the run nor a link
 * send the read elsewhere; anything but a regular file is refused.
 */
function readLock(folder: string, path: string): FoundLock | null {
  let read: ReturnType<typeof readRegularFile>;
  try {
    read = readRegularFile(path, 4096);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    if (err instanceof NotRegularFileError) {
      throw new MirrorRefusedError(
        `Refusing to mirror into ${folder}: its lock ${path} is not a regular file`,
      );
    }
    throw err;
  }
  const found: FoundLock = { info: undefined, mtimeMs: read.st.mtimeMs, ino: read.st.ino };
  if (!read.bytes) return found;
  try {
    const v = JSON.parse(new TextDecoder().decode(read.bytes));
    if (typeof v?.host === "string" && Number.isInteger(v.pid) && typeof v.time === "string") {
      found.info = { host: v.host, pid: v.pid, time: v.time };
    }
  } catch { /* not JSON */ }
  return found;
}

/** Why the lock found at `path` is stale, or undefined while its holder may be running. */
function staleReason(
  path: string,
  found: FoundLock,
  host: string,
  now: number,
  staleMs = MIRROR_LOCK_STALE_MS,
): string | undefined {
  const age = now - found.mtimeMs;
  const { info } = found;
  if (!info) return age > UNREADABLE_STALE_MS ? "it is not a valid lock" : undefined;
  if (info.host === host) {
    if (info.pid === Deno.pid) return held.has(path) ? undefined : "its pid is this process";
    if (!processAlive(info.pid)) return `process ${info.pid} is not running`;
  }
  if (age > staleMs) return `it was last refreshed ${Math.round(age / 3600_000)} h ago`;
  return undefined;
}

/**
 * Removes the stale lock with inode `ino`. It is moved aside first, so of
 * two runs breaking it only one succeeds; a fresh lock moved by mistake
 * (another run replaced the stale one in between) is put back.
 */
function breakLock(path: string, ino: number | null): boolean {
  const aside = tempBeside(path);
  try {
    Deno.renameSync(path, aside);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  const st = lstatOrNull(aside);
  if (st?.ino === ino) {
    Deno.removeSync(aside);
    return true;
  }
  try {
    Deno.linkSync(aside, path); // fails if yet another lock is there
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      try {
        Deno.renameSync(aside, path); // no hard links (FAT, exFAT)
      } catch { /* dropped below */ }
    }
  }
  try {
    Deno.removeSync(aside);
  } catch { /* renamed back */ }
  return false;
}

function describe(info: MirrorLockInfo): string {
  return `host ${info.host}, pid ${info.pid}${info.pid === Deno.pid ? " (this process)" : ""}`;
}

function refusal(folder: string, path: string, info: MirrorLockInfo | undefined): string {
  return `Refusing to mirror into ${folder}: ` +
    (info
      ? `another cairn run is writing it (lock ${path} held by ${
        describe(info)
      }, since ${info.time})`
      : `its lock ${path} is unreadable and less than a minute old (another run is taking it)`);
}
