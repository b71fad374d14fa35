/**
 * What a mirror directory and its tree share inside this folder: where an
 * entry is, what a directory may ask of its tree beyond the tree's public
 * API, and the listing and mode rules both apply.
 *
 * @module
 */
import type { MirrorEntry, MirrorTarget } from "../archiver/mod.ts";
import type { FileStat } from "../platform/mod.ts";
import { listDir, type Listing } from "../walker/mod.ts";
import type { MirrorDirState } from "./mirror_dir.ts";
import type { MirrorTree } from "./mirror_tree.ts";

/** Where an entry of the mirror is: a directory of this run and a name in it. */
export interface Place {
  dir: MirrorDirState;
  name: string;
}

/**
 * What a directory asks of its tree beyond the tree's public API: the
 * bookkeeping of the steps that wait for the end of the run. Only
 * {@link MirrorTree} makes one (it closes over the tree's private state), and
 * hands it to the directories it creates, so none of this is public.
 */
export interface TreeHost {
  readonly tree: MirrorTree;
  /** Directory `dir` is part of the run (`made`: created by it); its metadata is set last. */
  addDir(dir: MirrorDirState, entry: MirrorEntry | undefined, depth: number, made: boolean): void;
  firstLink(key: string): FirstLink | undefined;
  /** The first link of `key` is at `at` now; `ino` is the inode it kept there. */
  setFirstLink(key: string, at: Place | undefined, ino?: number): void;
  /** The first link of `key` is the file `target` once it is written. */
  setFirstLinkPending(key: string, target: MirrorTarget): void;
  /** Links `at` to the first link's copy once that is written. */
  linkLater(first: Promise<Place | undefined>, at: Place, exists: boolean): void;
  symlinkLater(at: Place, target: string, fresh: boolean, entry?: MirrorEntry): void;
  /** Directory `at` is built for `final`, and renamed there by {@link MirrorTree.finish}. */
  stage(at: string, final: string): void;
  /** `target` is handed to a writer: its directory stays open until it is written. */
  handOut(target: MirrorTarget, dir: MirrorDirState): MirrorTarget;
  /**
   * `dir` is done with (its walk is over, or a file or link in it is written):
   * the last release closes it (the root stays open until finish).
   */
  release(dir: MirrorDirState): void;
}

/** Where the first name of a hard-linked file went, for its other names. */
export interface FirstLink {
  at: Promise<Place | undefined>;
  /** The inode it kept, when it was left in place. */
  ino?: number;
}

/** Setuid/setgid bits are never mirrored (DESIGN.md: not unless asked for). */
export const MODE_MASK = 0o1777;

/** lstat of every entry of `dir` by name (see `listDir`); empty when it cannot be listed. */
export function listDirInfo(dir: string): Map<string, FileStat> {
  try {
    return infoByName(listDir(dir));
  } catch {
    return new Map();
  }
}

export function infoByName(listing: Listing): Map<string, FileStat> {
  return new Map(listing.entries.map((e) => [e.name, e.info]));
}
