/** Messages between a {@link DirLister} and its worker. */
import { type FileStat, timeNs } from "../platform/mod.ts";
import type { WalkError } from "./list_dir.ts";
import type { CountTotals } from "./tree_counter.ts";

/** What the worker walks: the main thread's rules for descending, as plain data. */
export interface ListerInit {
  type: "init";
  /** Exclude patterns (see `Excluder`): an excluded directory is not descended into. */
  excludes: string[];
  /** Case-insensitive exclude patterns. */
  iexcludes: string[];
  /** Names whose presence in a directory leaves it out (`--exclude-if-present`). */
  markers: string[];
  /** With `--one-file-system`: the devices of the sources; others are not descended into. */
  devs: number[] | null;
  /** Entries listed but not yet consumed at which the worker pauses. */
  window: number;
}

export type ToLister =
  | ListerInit
  | { type: "walk"; root: string }
  | { type: "consumed"; entries: number }
  | { type: "count"; roots: string[]; largerThan: number | null };

/** Numbers per entry in {@link EncodedListing.nums}. */
export const FIELDS = 16;

/** One directory's listing, with each entry's lstat packed into numbers. */
export interface EncodedListing {
  dir: string;
  names: string[];
  /** {@link FIELDS} numbers per entry; see `encodeInfo`. */
  nums: Float64Array;
  errors: WalkError[];
  /** The directory itself could not be listed. */
  error?: string;
}

export type FromLister =
  | { type: "listings"; items: EncodedListing[] }
  | { type: "done"; root: string }
  | ({ type: "totals" } & CountTotals);

const KIND = ["file", "dir", "symlink", "fifo", "socket", "char", "block"] as const;

/** Packs the parts of an lstat result a backup uses into `out` at `at`. */
export function encodeInfo(info: FileStat, out: Float64Array, at: number): void {
  out[at] = info.isFile
    ? 0
    : info.isDirectory
    ? 1
    : info.isSymlink
    ? 2
    : info.isFifo
    ? 3
    : info.isSocket
    ? 4
    : info.isCharDevice
    ? 5
    : info.isBlockDevice
    ? 6
    : 0;
  out[at + 1] = info.size;
  out[at + 2] = info.mtime?.getTime() ?? NaN;
  out[at + 3] = info.atime?.getTime() ?? NaN;
  out[at + 4] = info.ctime?.getTime() ?? NaN;
  out[at + 5] = info.birthtime?.getTime() ?? NaN;
  out[at + 6] = info.mode ?? NaN;
  out[at + 7] = info.uid ?? NaN;
  out[at + 8] = info.gid ?? NaN;
  out[at + 9] = info.ino ?? NaN;
  out[at + 10] = info.dev ?? NaN;
  out[at + 11] = info.nlink ?? NaN;
  out[at + 12] = info.rdev ?? NaN;
  // The nanoseconds past the second; the second is the millisecond time's.
  out[at + 13] = subsecond(info.mtimeNs);
  out[at + 14] = subsecond(info.atimeNs);
  out[at + 15] = subsecond(info.ctimeNs);
}

/** The last nine digits of a nanosecond time, as a number (below one second). */
function subsecond(ns: string): number {
  const n = Number(ns.length > 9 ? ns.slice(-9) : ns);
  return ns.startsWith("-") ? (1e9 - (-n % 1e9)) % 1e9 : n;
}

/** The nanosecond time of a millisecond time and the nanoseconds past its second. */
function ns(ms: number, nsec: number): string {
  return Number.isNaN(ms) ? "0" : timeNs(Math.floor(ms / 1000), nsec);
}

const num = (v: number) => (Number.isNaN(v) ? null : v);
const date = (v: number) => (Number.isNaN(v) ? null : new Date(v));

/** The lstat result packed by {@link encodeInfo}. */
export function decodeInfo(nums: Float64Array, at: number): FileStat {
  const kind = KIND[nums[at]];
  return {
    isFile: kind === "file",
    isDirectory: kind === "dir",
    isSymlink: kind === "symlink",
    isFifo: kind === "fifo",
    isSocket: kind === "socket",
    isCharDevice: kind === "char",
    isBlockDevice: kind === "block",
    size: nums[at + 1],
    mtime: date(nums[at + 2]),
    atime: date(nums[at + 3]),
    ctime: date(nums[at + 4]),
    birthtime: date(nums[at + 5]),
    mode: num(nums[at + 6]),
    uid: num(nums[at + 7]),
    gid: num(nums[at + 8]),
    ino: num(nums[at + 9]),
    dev: num(nums[at + 10]) ?? 0,
    nlink: num(nums[at + 11]),
    rdev: num(nums[at + 12]),
    blksize: null,
    blocks: null,
    mtimeNs: ns(nums[at + 2], nums[at + 13]),
    atimeNs: ns(nums[at + 3], nums[at + 14]),
    ctimeNs: ns(nums[at + 4], nums[at + 15]),
  };
}
