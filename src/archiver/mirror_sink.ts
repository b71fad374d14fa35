/**
 * The narrow interface through which the archiver feeds a mirror (one is
 * implemented in `src/mirror`): the walk asks it, on the main thread, which
 * mirror files to write, and the worker that reads each such file writes it
 * from the same buffer with the writer module the mirror names. The
 * archiver never imports the mirror; the mirror implements this.
 *
 * @module
 */
import type { FileStat } from "../platform/mod.ts";
import { type Node, type NodeXattr, nsToDate } from "../repo/mod.ts";

/**
 * Where a worker writes the mirror copy of a file it reads: a temp file
 * beside `path`, renamed over it once whole, with this mode and these times.
 * Plain data: it crosses to the worker thread.
 */
export interface MirrorTarget {
  path: string;
  mode: number;
  mtimeMs: number;
  atimeMs?: number;
  /** The times to the nanosecond (decimal strings), when known; they win over the milliseconds. */
  mtimeNs?: string;
  atimeNs?: string;
  /** Set only when running as root. */
  owner?: { uid: number; gid: number };
  /**
   * The blob ids of what the mirror file holds now (the parent snapshot's
   * version). When the file read has the same ids, only its mode and times
   * are set: a new mtime on the same bytes costs no rewrite.
   */
  expect?: string[];
  /**
   * `path` is in a directory this run created under a temp name (renamed
   * into place once complete), so nothing is there and nobody sees it yet:
   * the file is written under its own name, with no temp file and rename.
   */
  fresh?: boolean;
  /** The directory is setgid: a new file takes its group, not ours. */
  dirGroup?: boolean;
  /** Extended attributes to set, after owner and mode (chown clears a capability). */
  xattrs?: NodeXattr[];
  /** Inode flags (chattr's) to set last; the mirror leaves out `i` and `a` (see `applyFlags`). */
  flags?: number;
}

/** One mirror file being written by a worker: `write` in order, then `commit` or `abort`. */
export interface MirrorFileWrite {
  write(bytes: Uint8Array): void;
  /** Puts the whole file in place; returns the xattrs that could not be set. */
  commit(): string[];
  abort(): void;
}

/**
 * What the module named by {@link MirrorSink.writerModule} exports: the
 * workers import it (they cannot be handed functions), so the archiver
 * needs no import of the mirror.
 */
export interface MirrorWriterModule {
  MirrorFileWriter: new (target: MirrorTarget) => MirrorFileWrite;
  /** Gives a mirror file that already holds the right bytes the target's metadata. */
  retimeMirrorFile(target: MirrorTarget): string[];
  /** Does the mirror file already hold the bytes `content` names (then only retime it)? */
  holdsContent(target: MirrorTarget, content: readonly string[]): boolean;
}

/** What a mirror needs to know of a source entry. */
export interface MirrorEntry {
  size: number;
  mtimeMs: number;
  atimeMs?: number;
  /** The times to the nanosecond (decimal strings), when known; they win over the milliseconds. */
  mtimeNs?: string;
  atimeNs?: string;
  /** Permission bits (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** `dev:inode` of a file with several hard links, so the mirror can link them too. */
  linkKey?: string;
  /** Extended attributes the copy gets when written (as the snapshot records them). */
  xattrs?: NodeXattr[];
  /**
   * Inode flags (chattr's) the copy gets when written; 0 when it has none
   * but its directory has some, which a new file may inherit.
   */
  flags?: number;
  /**
   * Its times say nothing of its bytes (a block device read as a file): a
   * copy of equal size and mtime is not taken as final.
   */
  volatile?: boolean;
}

/** The entry's version in the parent snapshot: what an up-to-date mirror file holds. */
export interface ParentFile {
  size: number;
  mtimeMs: number;
  content: string[];
}

/** What a snapshot's node says of a file, as an up-to-date mirror copy of it would hold. */
export function parentFile(node: Node | undefined): ParentFile | undefined {
  if (node?.type !== "file" || !node.content || node.size === undefined) return undefined;
  return { size: node.size, mtimeMs: nsToDate(node.mtime).getTime(), content: node.content };
}

/** The mirror's view of an lstat result. */
export function mirrorEntry(
  info: Deno.FileInfo | FileStat,
  xattrs?: NodeXattr[],
  flags?: number,
): MirrorEntry {
  const e: MirrorEntry = {
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? 0,
    mode: (info.mode ?? 0o644) & 0o7777,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
  };
  if (info.atime) e.atimeMs = info.atime.getTime();
  if ("mtimeNs" in info) {
    e.mtimeNs = info.mtimeNs;
    e.atimeNs = info.atimeNs;
  }
  if ((info.nlink ?? 1) > 1 && info.isFile) e.linkKey = `${info.dev}:${info.ino}`;
  if (xattrs?.length) e.xattrs = xattrs;
  if (flags) e.flags = flags;
  return e;
}

/**
 * A mirror directory the backup brings up to date in the same pass, as the
 * archiver sees it (implemented in `src/mirror`). The walk calls it on the
 * main thread for every directory and entry; a file it asks for is written
 * by the worker that reads the file for chunking, from the same buffer.
 */
export interface MirrorSink {
  /**
   * URL of the module (a {@link MirrorWriterModule}) the file-saver workers
   * import to write mirror files; `deno task build` must `--include` it.
   */
  readonly writerModule: string;
  /**
   * The mirror directory standing for the source directory `path`, whose
   * parent is not mirrored (the walk asks {@link MirrorDir.subdir} below
   * that) and whose entries in the snapshot will be `names`. Undefined: not
   * mirrored. A promise when the directory's listing comes from another thread.
   */
  root(
    path: string,
    entry: MirrorEntry,
    names: readonly string[],
  ): MirrorDir | undefined | Promise<MirrorDir | undefined>;
  /**
   * A worker finished with `target`; `error` says why the mirror copy was not
   * written; `retimed` that its bytes were already right and only metadata was set;
   * `warnings` name extended attributes the copy could not be given.
   */
  written(
    target: MirrorTarget,
    bytes: number,
    error?: string,
    retimed?: boolean,
    warnings?: string[],
  ): void;
  /**
   * The walk now waits for the file savers: from here on reading, not
   * listing, bounds the backup (a mirror may stop listing ahead in a thread).
   */
  saturated?(): void;
}

/** One mirrored directory, while the walk is in it. */
export interface MirrorDir {
  /**
   * The mirror directory for subdirectory `name`, whose entries in the
   * snapshot will be `names`, as {@link MirrorSink.root}.
   */
  subdir(
    name: string,
    entry: MirrorEntry,
    names: readonly string[],
  ): MirrorDir | undefined | Promise<MirrorDir | undefined>;
  /**
   * The file to write for entry `name`, or undefined when there is nothing to
   * write (up to date, hard-linked, or not mirrored).
   */
  file(name: string, entry: MirrorEntry, parent?: ParentFile): MirrorTarget | undefined;
  /** A symlink; `entry` gives its times and xattrs. */
  symlink(name: string, target: string, entry?: MirrorEntry): void;
  /** Entry `name` was listed but is left out of the snapshot. */
  drop(name: string): void;
  /** Every entry has been visited (their files may still be being written). */
  done(): void;
}
