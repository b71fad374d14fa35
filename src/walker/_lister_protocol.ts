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

/**
 * An lstat result packed by {@link encodeInfo}, as the walk reads it: the
 * numbers, the kind and the two times a node records (`mtimeNs`,
 * `ctimeNs`) are fields; the `Date`s and `atimeNs`, which only a mirror
 * reads, are made when asked for. An unchanged rerun of the Linux tree
 * decodes 83,000 of these, and four `Date`s and a string each were a tenth
 * of its main thread's time (CPU profile) and garbage to collect.
 */
class PackedStat implements FileStat {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly isSymlink: boolean;
  readonly isFifo: boolean;
  readonly isSocket: boolean;
  readonly isCharDevice: boolean;
  readonly isBlockDevice: boolean;
  readonly size: number;
  readonly mode: number | null;
  readonly uid: number | null;
  readonly gid: number | null;
  readonly ino: number | null;
  readonly dev: number;
  readonly nlink: number | null;
  readonly rdev: number | null;
  readonly blksize = null;
  readonly blocks = null;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
  readonly #nums: Float64Array;
  readonly #at: number;

  constructor(nums: Float64Array, at: number) {
    const kind = nums[at];
    this.isFile = kind === 0;
    this.isDirectory = kind === 1;
    this.isSymlink = kind === 2;
    this.isFifo = kind === 3;
    this.isSocket = kind === 4;
    this.isCharDevice = kind === 5;
    this.isBlockDevice = kind === 6;
    this.size = nums[at + 1];
    this.mode = num(nums[at + 6]);
    this.uid = num(nums[at + 7]);
    this.gid = num(nums[at + 8]);
    this.ino = num(nums[at + 9]);
    this.dev = num(nums[at + 10]) ?? 0;
    this.nlink = num(nums[at + 11]);
    this.rdev = num(nums[at + 12]);
    this.mtimeNs = ns(nums[at + 2], nums[at + 13]);
    this.ctimeNs = ns(nums[at + 4], nums[at + 15]);
    this.#nums = nums;
    this.#at = at;
  }

  get mtime(): Date | null {
    return date(this.#nums[this.#at + 2]);
  }
  get atime(): Date | null {
    return date(this.#nums[this.#at + 3]);
  }
  get ctime(): Date | null {
    return date(this.#nums[this.#at + 4]);
  }
  get birthtime(): Date | null {
    return date(this.#nums[this.#at + 5]);
  }
  get atimeNs(): string {
    return ns(this.#nums[this.#at + 3], this.#nums[this.#at + 14]);
  }
}

/**
 * The lstat result packed by {@link encodeInfo}. Its `Date`s and `atimeNs`
 * are getters: a copy by spreading (`{ ...info }`) leaves them out.
 */
export function decodeInfo(nums: Float64Array, at: number): FileStat {
  return new PackedStat(nums, at);
}
