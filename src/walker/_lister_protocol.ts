/** Messages between a {@link DirLister} and its worker. */
import { type FileStat, STAT_FIELDS, timeNs } from "../platform/mod.ts";
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

/** Numbers per entry in {@link EncodedListing.nums}: `lstatInto`'s. */
export const FIELDS = STAT_FIELDS;

/** One directory's listing, with each entry's lstat packed into numbers. */
export interface EncodedListing {
  dir: string;
  names: string[];
  /** {@link FIELDS} numbers per entry, as `lstatInto` writes them. */
  nums: Float64Array;
  errors: WalkError[];
  /** The directory itself could not be listed. */
  error?: string;
}

export type FromLister =
  | { type: "listings"; items: EncodedListing[] }
  | { type: "done"; root: string }
  | ({ type: "totals" } & CountTotals);

const num = (v: number) => (Number.isNaN(v) ? null : v);
/** The Date of a time in seconds and nanoseconds, as the platform's lstat makes it. */
const date = (sec: number, nsec: number) =>
  Number.isNaN(sec) ? null : new Date(sec * 1000 + Math.floor(nsec / 1e6));
const ns = (sec: number, nsec: number) => (Number.isNaN(sec) ? "0" : timeNs(sec, nsec));

const S_IFMT = 0o170000;

/**
 * An lstat result packed by `lstatInto`, as the walk reads it: the
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
    const mode = nums[at];
    const type = mode & S_IFMT;
    this.isFile = type === 0o100000;
    this.isDirectory = type === 0o040000;
    this.isSymlink = type === 0o120000;
    this.isFifo = type === 0o010000;
    this.isSocket = type === 0o140000;
    this.isCharDevice = type === 0o020000;
    this.isBlockDevice = type === 0o060000;
    this.size = nums[at + 1];
    this.mode = num(mode);
    this.uid = num(nums[at + 10]);
    this.gid = num(nums[at + 11]);
    this.ino = num(nums[at + 12]);
    this.dev = num(nums[at + 13]) ?? 0;
    this.nlink = num(nums[at + 14]);
    this.rdev = num(nums[at + 15]);
    this.mtimeNs = ns(nums[at + 2], nums[at + 3]);
    this.ctimeNs = ns(nums[at + 6], nums[at + 7]);
    this.#nums = nums;
    this.#at = at;
  }

  get mtime(): Date | null {
    return date(this.#nums[this.#at + 2], this.#nums[this.#at + 3]);
  }
  get atime(): Date | null {
    return date(this.#nums[this.#at + 4], this.#nums[this.#at + 5]);
  }
  get ctime(): Date | null {
    return date(this.#nums[this.#at + 6], this.#nums[this.#at + 7]);
  }
  get birthtime(): Date | null {
    return date(this.#nums[this.#at + 8], this.#nums[this.#at + 9]);
  }
  get atimeNs(): string {
    return ns(this.#nums[this.#at + 4], this.#nums[this.#at + 5]);
  }
}

/**
 * The lstat result at `at` in `nums`, packed by `lstatInto`. Its `Date`s and
 * `atimeNs` are getters: a copy by spreading (`{ ...info }`) leaves them out.
 */
export function decodeInfo(nums: Float64Array, at: number): FileStat {
  return new PackedStat(nums, at);
}
