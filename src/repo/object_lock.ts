/**
 * S3 Object Lock for a repository (ransomware protection): with
 * `object_lock` in the config, every writer stores packs, index files and
 * snapshots under retention until `days` from the time of writing, so
 * nobody - not a stolen agent key, not the bucket owner in compliance mode -
 * can delete or overwrite them before then. Retention only runs out; cairn
 * renews it ({@link renewRetention}) for what the repository still uses, so
 * the newest backups stay protected however old their packs are (Kopia
 * does not renew). Prune leaves objects whose retention has not run out
 * alone and reports them (prune.ts).
 *
 * @module
 */
import type {
  Backend,
  ByteRange,
  FileStat,
  FileType,
  OpOptions,
  Retention,
  SaveOptions,
} from "../backend/mod.ts";
import { type IndexFilesRepo, loadIndexState } from "./_prune_index.ts";

const DAY_MS = 86_400_000;

/** The `object_lock` field of a repository config. */
export interface ObjectLockConfig {
  mode: "governance" | "compliance";
  /** Retention of each file written, and of each renewal, in days (1..36500). */
  days: number;
}

/** Checks an `object_lock` setting; throws a `RangeError` that names what is wrong. */
export function validateObjectLock(raw: unknown): ObjectLockConfig {
  const o = raw as ObjectLockConfig | null;
  if (!o || typeof o !== "object") throw new RangeError("object_lock must be a table");
  if (o.mode !== "governance" && o.mode !== "compliance") {
    throw new RangeError(`object_lock mode must be "governance" or "compliance", not "${o.mode}"`);
  }
  if (!Number.isSafeInteger(o.days) || o.days < 1 || o.days > 36500) {
    throw new RangeError(`object_lock days must be a whole number from 1 to 36500, not ${o.days}`);
  }
  return { mode: o.mode, days: o.days };
}

/** File types stored under retention: everything a restore needs besides keys and config. */
const LOCKED_TYPES: ReadonlySet<FileType> = new Set(["data", "index", "snapshots"]);

/**
 * Wraps a backend so that every save of a pack, index file or snapshot
 * carries retention until `days` after `now()` (a backend without Object
 * Lock never gets here for writing: `init` refuses, and only S3 stores it).
 */
export function retainingBackend(
  inner: Backend,
  lock: ObjectLockConfig,
  now: () => number = Date.now,
): Backend {
  return {
    location: inner.location,
    save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions) {
      if (!LOCKED_TYPES.has(type)) return inner.save(type, name, data, options);
      const retention: Retention = { mode: lock.mode, untilMs: now() + lock.days * DAY_MS };
      return inner.save(type, name, data, { ...options, retention });
    },
    load: (type: FileType, name: string, range?: ByteRange, options?: OpOptions) =>
      inner.load(type, name, range, options),
    stat: (type: FileType, name: string, options?: OpOptions): Promise<FileStat> =>
      inner.stat(type, name, options),
    list: (type: FileType, options?: OpOptions) => inner.list(type, options),
    remove: (type: FileType, name: string, options?: OpOptions) =>
      inner.remove(type, name, options),
    close: () => inner.close(),
    retention: (type: FileType, name: string, options?: OpOptions) =>
      inner.retention ? inner.retention(type, name, options) : Promise.resolve(undefined),
    setRetention: (type: FileType, name: string, r: Retention, options?: OpOptions) =>
      inner.setRetention
        ? inner.setRetention(type, name, r, options)
        : Promise.reject(new TypeError(`${inner.location} has no Object Lock`)),
  };
}

export interface RenewOptions {
  /** The clock; default `Date.now`. */
  now?: () => number;
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

/** What {@link renewRetention} looked at and extended. */
export interface RenewStats {
  /** Files whose retention was looked at. */
  files: number;
  /** Files whose retention was extended. */
  renewed: number;
  /** The retain-until time renewed files got (ms since the epoch). */
  untilMs: number;
}

/** What renewing retention needs: the index files' storage and key, and the config. */
export interface RetentionRepo extends IndexFilesRepo {
  readonly config: { readonly object_lock?: ObjectLockConfig };
}

/**
 * Extends the retention of every snapshot file, every live index file and
 * every pack a live index lists - all a restore of any current snapshot
 * reads - to `days` from now, where less than `days - 1` remain (so a daily
 * renewal touches each file about once a day at most). Packs prune took out
 * of the index are not renewed: their retention runs out and a later prune
 * deletes them. A repository without `object_lock` has nothing to renew.
 */
export async function renewRetention(
  repo: RetentionRepo,
  opts: RenewOptions = {},
): Promise<RenewStats> {
  const lock = repo.config.object_lock;
  const now = (opts.now ?? Date.now)();
  const stats: RenewStats = { files: 0, renewed: 0, untilMs: now };
  if (!lock) return stats;
  const { signal } = opts;
  const backend = repo.backend;
  const until = now + lock.days * DAY_MS;
  stats.untilMs = until;
  const snapshots: string[] = [];
  for await (const f of backend.list("snapshots", { signal })) snapshots.push(f.name);
  const state = await loadIndexState(repo, signal);
  const files: [FileType, string][] = [
    ...snapshots.map((n): [FileType, string] => ["snapshots", n]),
    ...state.live.map((n): [FileType, string] => ["index", n]),
    ...[...state.packs.keys()].map((n): [FileType, string] => ["data", n]),
  ];
  opts.onProgress?.(`renewing the retention of ${files.length} files`);
  for (const [type, name] of files) {
    signal?.throwIfAborted();
    stats.files++;
    const current = await backend.retention!(type, name, { signal });
    if (current && current.untilMs >= until - DAY_MS) continue;
    // Compliance cannot be turned into governance; keep the stronger mode.
    const mode = current?.mode === "compliance" ? "compliance" : lock.mode;
    await backend.setRetention!(type, name, { mode, untilMs: until }, { signal });
    stats.renewed++;
  }
  return stats;
}
