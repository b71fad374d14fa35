/**
 * Writing one mirror file so that the mirror never shows a half-written
 * one: the bytes go to a new temp file beside the target (created with
 * O_EXCL, so never through a link), which gets its mode and times and is
 * then renamed over the target in one step. A file in a directory that is
 * new to the mirror skips the temp file: the whole directory is built under
 * a temp name and renamed into place once complete (by `src/mirror`), which
 * keeps the same promise for a rename per directory instead of per file.
 *
 * No fsync per file: a crash of cairn leaves at worst a temp file (removed by
 * the next run), never a short file under a real name. After a power loss a
 * renamed file whose data had not reached the disk yet comes back empty or
 * short on delayed-allocation filesystems, and its size then differs from the
 * source, so the next run rewrites it. The chunk store is the durable copy;
 * the mirror trades per-file fsyncs (minutes on a kernel tree) for that.
 *
 * The archiver's file-saver workers import this module by its URL
 * ({@link MIRROR_WRITER_MODULE}, a `MirrorWriterModule`), so `deno task build`
 * includes it by path.
 *
 * @module
 */
import { fromBase64 } from "../crypto/mod.ts";
import {
  byteFs,
  OsError,
  setTimes,
  SparseWriter,
  supported as platformSupported,
  writeFileFlags,
  writeXattr,
} from "../platform/mod.ts";
import type { NodeXattr } from "../repo/mod.ts";
import type { MirrorTarget, MirrorWriterModule } from "../archiver/mod.ts";

/** A mirror entry's or target's access and modification times, to the nanosecond where known. */
export function timesNs(
  e: { mtimeMs: number; atimeMs?: number; mtimeNs?: string; atimeNs?: string },
): { atime: string; mtime: string } {
  const ms = (v: number) => (BigInt(Math.trunc(v)) * 1_000_000n).toString();
  const mtime = e.mtimeNs ?? ms(e.mtimeMs);
  return { mtime, atime: e.atimeNs ?? (e.atimeMs !== undefined ? ms(e.atimeMs) : mtime) };
}

/** Sets the times of `path` itself (never through a link) to the target's, to the nanosecond. */
export function applyTimes(
  path: string,
  e: { mtimeMs: number; atimeMs?: number; mtimeNs?: string; atimeNs?: string },
  opts: { follow?: boolean } = {},
): void {
  const t = timesNs(e);
  setTimes(path, t.atime, t.mtime, opts);
}

/**
 * Sets `xattrs` on `path` itself (never through a link). Returns one
 * message per attribute that could not be set (no permission, a filesystem
 * without xattrs): the copy keeps its data, and the caller reports them.
 */
export function applyXattrs(path: string, xattrs: readonly NodeXattr[] | undefined): string[] {
  if (!xattrs?.length) return [];
  if (!platformSupported) return [`extended attributes not mirrored: not supported here`];
  const problems: string[] = [];
  for (const x of xattrs) {
    try {
      writeXattr(path, x.name, fromBase64(x.value));
    } catch (err) {
      const why = err instanceof OsError ? err.reason : (err as Error).message;
      problems.push(`extended attribute ${x.name} not mirrored: ${why}`);
    }
  }
  return problems;
}

/** `i` (immutable) and `a` (append only): a mirror copy with them could not be updated. */
const UNMIRRORED_FLAGS = 0x10 | 0x20;

/**
 * Sets the inode flags (chattr's) of `path` itself to `flags` (0 clears
 * what it inherited from its directory; undefined leaves it alone), but
 * for `i` and `a`, which would stop the next run from replacing or
 * removing the copy.
 * Returns one message naming the flags that could not be set, or none.
 */
export function applyFlags(path: string, flags: number | undefined): string[] {
  if (flags === undefined) return [];
  const wanted = flags & ~UNMIRRORED_FLAGS;
  if (!platformSupported) return wanted ? [`file flags not mirrored: not supported here`] : [];
  const refused = writeFileFlags(path, wanted);
  return refused ? [`file flags +${refused.letters} not mirrored: ${refused.why}`] : [];
}

/** Names of mirror temp files start with this; a later run removes any left behind. */
export const MIRROR_TEMP_PREFIX = ".cairn-part.";

/**
 * A fresh temp path in the directory of `path`: a random prefix per thread
 * and a counter, so names never repeat without a random draw per file.
 * Callers create it with O_EXCL, so a name taken anyway fails, never
 * follows a link.
 */
export function tempBeside(path: string): string {
  const n = (tempCount++).toString(36);
  return `${path.slice(0, path.lastIndexOf("/"))}/${MIRROR_TEMP_PREFIX}${TEMP_TAG}${n}`;
}

const TEMP_TAG = Array.from(
  crypto.getRandomValues(new Uint8Array(6)),
  (b) => b.toString(16).padStart(2, "0"),
).join("") + "-";
let tempCount = 0;

/**
 * The rule for a mirror file that is already final: it holds the parent
 * snapshot's version (`target.expect`), and `content`, the blob ids of the
 * bytes it should hold, names those very bytes. Then only its metadata needs
 * setting ({@link retimeMirrorFile}); otherwise it is written again.
 */
export function holdsContent(target: MirrorTarget, content: readonly string[]): boolean {
  const held = target.expect;
  return held !== undefined && held.length === content.length &&
    held.every((id, i) => id === content[i]);
}

/**
 * Gives the existing mirror file `target.path`, already holding the right
 * bytes, the target's times, owner and mode, after checking it is still a
 * regular file (so nothing is changed through a link).
 */
export function retimeMirrorFile(target: MirrorTarget): string[] {
  const st = byteFs.lstatSync(target.path);
  if (!st.isFile) throw new Error("changed under the mirror; refusing to set its metadata");
  applyTimes(target.path, target);
  if (target.owner) {
    try {
      byteFs.chownSync(target.path, target.owner.uid, target.owner.gid);
    } catch (err) {
      if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
    }
  }
  if (((st.mode ?? 0) & 0o7777) !== target.mode || target.owner) {
    byteFs.chmodSync(target.path, target.mode);
  }
  return [...applyXattrs(target.path, target.xattrs), ...applyFlags(target.path, target.flags)];
}

/**
 * Test hook (tests/mirror_cli_test.ts): the process kills itself once it has
 * written the first bytes of the mirror file of this name, so a test sees a
 * crash in the middle of a file at a known point.
 */
const KILL_AT = Deno.env.get("CAIRN_TEST_KILL_AFTER_MIRROR_FILE") || undefined;

/** Who we are: a new file is owned by this user and (mostly) this group. */
const SELF = { uid: Deno.uid(), gid: Deno.gid() };
/** Permission bits open(2) leaves out of a new file's mode. */
const UMASK = Deno.umask();

/**
 * One mirror file being written: `write` in order, then `commit` or `abort`.
 * A `fresh` target is written under its own name (its directory is still
 * hidden under a temp name); any other goes to a temp file beside it that
 * `commit` renames over it.
 */
export class MirrorFileWriter {
  /** Where the bytes go until commit. */
  readonly #at: string;
  #file: Deno.FsFile | undefined;
  #out: SparseWriter | undefined;
  /** The file was created with its final owner and mode bits. */
  readonly #asFinal: boolean;
  /** And those bits are sure to be right without a look (no umask or group surprise). */
  readonly #surelyFinal: boolean;

  constructor(readonly target: MirrorTarget) {
    this.#at = target.fresh ? target.path : tempBeside(target.path);
    // When the file will belong to us anyway, create it with its final
    // permission bits and spare a chown and a chmod (inode updates that
    // cost as much as the write of a small file). Otherwise only we may
    // read it until it has its real owner.
    const owner = target.owner;
    this.#asFinal = !owner || (owner.uid === SELF.uid && owner.gid === SELF.gid);
    const mode = this.#asFinal ? target.mode & 0o777 : 0o600;
    this.#surelyFinal = this.#asFinal && (mode & ~UMASK) === target.mode &&
      !(owner && target.dirGroup);
    this.#file = byteFs.openSync(this.#at, { write: true, createNew: true, mode });
    this.#out = new SparseWriter(this.#file);
  }

  /** Appends all of `bytes` (blocks of zeros as holes: a sparse file stays sparse). */
  write(bytes: Uint8Array): void {
    this.#out!.write(bytes);
    if (KILL_AT !== undefined && this.target.path.endsWith(`/${KILL_AT}`)) {
      Deno.kill(Deno.pid, "SIGKILL");
    }
  }

  /**
   * Sets times, owner, mode and xattrs, and renames the whole file into
   * place. Returns the xattrs that could not be set (see {@link applyXattrs}).
   */
  commit(): string[] {
    const t = this.target;
    const file = this.#file!;
    this.#file = undefined;
    let done = this.#surelyFinal;
    try {
      this.#out!.finish();
      // By name, not following a link (the file is ours, made with O_EXCL): Deno's file utime
      // has only milliseconds.
      applyTimes(this.#at, t);
      if (this.#asFinal && !done) {
        // The umask, a setgid directory or special bits can still differ.
        const st = file.statSync();
        done = (st.mode! & 0o7777) === t.mode &&
          (!t.owner || (st.uid === t.owner.uid && st.gid === t.owner.gid));
      }
    } finally {
      file.close();
    }
    if (!done) {
      if (t.owner) {
        try {
          byteFs.chownSync(this.#at, t.owner.uid, t.owner.gid);
        } catch (err) {
          if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
        }
      }
      // After chown, which clears setuid bits; the file is ours, made with O_EXCL.
      byteFs.chmodSync(this.#at, t.mode);
    }
    const problems = [...applyXattrs(this.#at, t.xattrs), ...applyFlags(this.#at, t.flags)];
    if (this.#at !== t.path) byteFs.renameSync(this.#at, t.path);
    return problems;
  }

  /**
   * Drops what was written: the temp file, or a fresh file under its own
   * name (whose directory would otherwise show it once renamed into place).
   */
  abort(): void {
    try {
      this.#file?.close();
    } catch { /* already closed */ }
    this.#file = undefined;
    try {
      byteFs.removeSync(this.#at);
    } catch { /* gone already; a fresh file left here is removed by the main thread */ }
  }
}

/** This module's URL: what a backup's mirror sink names as its writer module. */
export const MIRROR_WRITER_MODULE: string = import.meta.url;

// The workers import this module as a MirrorWriterModule: keep it one.
({ MirrorFileWriter, retimeMirrorFile, holdsContent }) satisfies MirrorWriterModule;
