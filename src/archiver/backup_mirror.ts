import { type Node, type NodeXattr, nsToDate } from "../repo/mod.ts";
import type { MirrorTarget } from "./_protocol.ts";

export type { MirrorTarget };

/** What a mirror needs to know of a source entry. */
export interface MirrorEntry {
  size: number;
  mtimeMs: number;
  atimeMs?: number;
  /** Permission bits (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** `dev:inode` of a file with several hard links, so the mirror can link them too. */
  linkKey?: string;
  /** Extended attributes the copy gets when written (as the snapshot records them). */
  xattrs?: NodeXattr[];
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
export function mirrorEntry(info: Deno.FileInfo, xattrs?: NodeXattr[]): MirrorEntry {
  const e: MirrorEntry = {
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? 0,
    mode: (info.mode ?? 0o644) & 0o7777,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
  };
  if (info.atime) e.atimeMs = info.atime.getTime();
  if ((info.nlink ?? 1) > 1 && info.isFile) e.linkKey = `${info.dev}:${info.ino}`;
  if (xattrs?.length) e.xattrs = xattrs;
  return e;
}

/**
 * A mirror directory the backup brings up to date in the same pass, as the
 * archiver sees it (implemented in `src/mirror`). The walk calls it on the
 * main thread for every directory and entry; a file it asks for is written
 * by the worker that reads the file for chunking, from the same buffer.
 */
export interface BackupMirror {
  /**
   * The mirror directory standing for the source directory `path`, whose
   * entries in the snapshot will be `names`; `parent` is the directory's
   * parent's mirror directory, if that is mirrored. Undefined: not mirrored.
   * A promise when the directory's listing comes from another thread.
   */
  dir(
    parent: MirrorDir | undefined,
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
