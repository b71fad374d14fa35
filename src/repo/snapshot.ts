import { CorruptError, isId } from "./format.ts";

/** Counters of one backup run, stored with its snapshot. */
export interface BackupSummary {
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  dirs: number;
  bytes_read: number;
  bytes_added: number;
  /** New blobs this run stored (blobs the repository already had are not counted). */
  data_blobs: number;
  tree_blobs: number;
  errors: number;
  duration_s: number;
}

/** One backup run: what was saved, from where and when. */
export interface Snapshot {
  time: string;
  tree: string;
  paths: string[];
  host: string;
  username: string;
  uid?: number;
  gid?: number;
  tags: string[];
  job?: string;
  parent?: string;
  excludes?: string[];
  /** Set when some source files could not be read; the snapshot lacks them. */
  incomplete?: { errors: number };
  summary?: BackupSummary;
  /** The backup read extended attributes: a node without `xattrs` has none. */
  xattrs?: true;
  /** The backup read inode flags (chattr's): a file or directory without `flags` has none. */
  flags?: true;
  /**
   * Node times are to the nanosecond (statx). Without it they came from
   * Deno's lstat: mtime to the millisecond, ctime to the second, and a
   * backup with this snapshot as parent compares times at that precision.
   */
  ns_times?: true;
  /**
   * When the backup started, by this host's clock (unlike `time`, never set
   * by `--time`): an entry whose ctime is a second or more before it had its
   * ctime when the backup read it (Deno reports ctime in whole seconds).
   */
  started?: string;
  /** Set by `cairn repair snapshots`: what this copy of snapshot `original` lost. */
  repaired?: { original: string; lost: number; paths: string[] };
  /**
   * The id of the snapshot this one stands for, as restic records it: set by
   * `cairn copy` (the snapshot copied, in the repository it was first written
   * to; a copy of a copy keeps the first) and by `cairn tag` and `cairn
   * rewrite` (the first snapshot of the chain this one replaced).
   */
  original?: string;
  program_version: string;
}

/** A snapshot together with its id (the name of its file). */
export interface SnapshotWithId extends Snapshot {
  id: string;
}

/** Validates a decoded snapshot file; `name` is its file name. */
export function validateSnapshot(raw: unknown, name: string): Snapshot {
  const s = raw as Snapshot;
  const what = `snapshot "${name}"`;
  if (!s || typeof s !== "object") throw new CorruptError(`${what} is malformed`);
  if (typeof s.time !== "string" || Number.isNaN(Date.parse(s.time))) {
    throw new CorruptError(`${what} has a malformed time`);
  }
  if (!isId(s.tree)) throw new CorruptError(`${what} has a malformed tree id`);
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === "string");
  if (!strings(s.paths) || !strings(s.tags) || typeof s.host !== "string") {
    throw new CorruptError(`${what} has malformed paths, tags or host`);
  }
  if (s.original !== undefined && !isId(s.original)) {
    throw new CorruptError(`${what} has a malformed original id`);
  }
  return s;
}

/** The snapshot `ref` names: a full id, a unique id prefix, or `latest`. */
export function resolveSnapshot(
  all: readonly SnapshotWithId[],
  ref: string,
): SnapshotWithId {
  if (ref === "latest") {
    if (all.length === 0) throw new Error("No snapshot found: the repository has none");
    return all.reduce((a, b) => (Date.parse(b.time) >= Date.parse(a.time) ? b : a));
  }
  if (!/^[0-9a-f]{1,64}$/.test(ref)) {
    throw new TypeError(`Invalid snapshot reference "${ref}": expected an id, prefix or "latest"`);
  }
  const hits = all.filter((s) => s.id.startsWith(ref));
  if (hits.length === 0) throw new Error(`No snapshot found with id "${ref}"`);
  if (hits.length > 1) {
    const shown = hits.slice(0, 5).map((s) => `${s.id.slice(0, 12)} (${s.host}, ${s.time})`);
    const more = hits.length > 5 ? `, and ${hits.length - 5} more` : "";
    throw new Error(
      `Snapshot prefix "${ref}" is ambiguous: ${hits.length} match: ${shown.join(", ")}${more}`,
    );
  }
  return hits[0];
}
