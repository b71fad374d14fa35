/**
 * Repository locks: small sealed JSON files in `locks/`, named by their hash.
 * What prune does about them is stated in docs/PRUNE.md ("The rules").
 *
 * Only prune (also within `forget --prune`) and `repair index` take an
 * **exclusive** lock, and only to keep two of them apart: backups never
 * wait for a lock (rule 9). Backups, `repair snapshots` and readers write a
 * **shared** lock ("something that relies on the index as it is from `time`
 * on is running"), and prune relies on it: while one is live it drops
 * nothing and deletes only what was dropped before it was taken (rules 4
 * and 5). A lock can go stale while its holder still runs (a host that
 * stopped refreshing for 30 minutes) or be removed by hand, so a backup does
 * not rely on it alone: the grace period (rule 6) and the check before its
 * snapshot (rule 8, `snapshot_guard.ts`) cover that case.
 *
 * Files are write-once, so a lock is refreshed by writing a new file (same
 * `time`, newer `refreshed`) and removing the old one. A lock is stale, its
 * holder presumed dead, and it is ignored (and may be removed with
 * {@link removeStaleLocks}) when either
 * - its `refreshed` is older than {@link STALE_LOCK_MS} (times come from the
 *   writer's clock, so hosts' clocks must agree to well within that), or
 * - it names this host and a pid that no process here has: a killed
 *   holder's lock stops nobody. (A reused pid only keeps a lock live until
 *   it expires by time, the safe way to be wrong.)
 *
 * A lock file its holder cannot remove (a failed delete, or storage that
 * allows no deletes) is only a warning: it expires by time like any other.
 *
 * Two prunes starting at once each write their lock, then list: at least
 * one sees the other and backs off (possibly both; a retry settles it).
 *
 * @module
 */
import process from "node:process";
import { type Backend, NotFoundError } from "../backend/mod.ts";
import type { MasterKey } from "../crypto/mod.ts";
import { CorruptError } from "./format.ts";
import { loadSealedJson, saveSealedJson } from "./sealed_file.ts";

/**
 * What locks need of a repository: its storage and the key lock files are
 * sealed with. `Repository` is one.
 */
export interface LockRepo {
  readonly backend: Backend;
  readonly master: Pick<MasterKey, "enc">;
}

/** A lock not refreshed for this long is stale. */
export const STALE_LOCK_MS = 30 * 60_000;
/** How often a held lock is rewritten. */
export const LOCK_REFRESH_MS = 5 * 60_000;

/** What a lock file holds. Times are ms since the epoch. */
export interface LockInfo {
  kind: "exclusive" | "shared";
  host: string;
  pid: number;
  /** When the holder took the lock (kept across refreshes). */
  time: number;
  /** When this lock file was written. */
  refreshed: number;
}

/** A lock file found in the repository. */
export interface LockFile extends LockInfo {
  name: string;
}

/** Another process holds the exclusive lock. Callers branch on this. */
export class LockedError extends Error {
  constructor(readonly holder: LockFile, options?: ErrorOptions) {
    super(
      `Repository is locked by ${holder.kind} lock "${holder.name.slice(0, 8)}" of ` +
        `${holder.host} (pid ${holder.pid}), refreshed ${new Date(holder.refreshed).toISOString()}`,
      options,
    );
    this.name = "LockedError";
  }
}

export interface LockOptions {
  /** Host named in the lock; default this machine's name (pids are checked against it). */
  host?: string;
  /** Pid named in the lock; default this process's (tests write a dead holder's lock). */
  pid?: number;
  /** Told when an old lock file cannot be removed (it expires by time). */
  onWarning?: (message: string) => void;
  /** The clock; default `Date.now`. */
  now?: () => number;
  /** Locks older than this are ignored; default {@link STALE_LOCK_MS}. */
  staleMs?: number;
  /** Rewrite the lock this often; 0 never. Default {@link LOCK_REFRESH_MS}. */
  refreshMs?: number;
  signal?: AbortSignal;
}

/** A lock this process holds; refreshes itself until {@link releaseLock}. */
export class RepoLock {
  #timer: ReturnType<typeof setInterval> | undefined;
  #refreshing: Promise<void> = Promise.resolve();
  #released = false;
  /** The last refresh that failed, if any: the lock may have gone stale. */
  refreshError: Error | undefined;

  constructor(
    private readonly repo: LockRepo,
    public name: string,
    public info: LockInfo,
    private readonly now: () => number,
    refreshMs: number,
    private readonly onWarning: (message: string) => void = () => {},
  ) {
    if (refreshMs > 0) {
      const timer = setInterval(() => void this.refresh().catch(() => {}), refreshMs);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Writes a fresh copy of the lock, then removes the old file. */
  refresh(): Promise<void> {
    this.#refreshing = this.#refreshing.then(async () => {
      if (this.#released) return;
      try {
        const info = { ...this.info, refreshed: this.now() };
        const name = await saveSealedJson(this.repo.backend, this.repo.master.enc, "locks", info);
        const old = this.name;
        this.name = name;
        this.info = info;
        this.refreshError = undefined;
        await this.#removeOrWarn(old);
      } catch (err) {
        this.refreshError = err as Error;
        throw err;
      }
    });
    return this.#refreshing;
  }

  /** Stops refreshing and removes the lock file. */
  async release(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#refreshing.catch(() => {});
    if (this.#released) return;
    this.#released = true;
    await this.#removeOrWarn(this.name);
  }

  /** A lock file left behind only delays others until it expires, so failing to remove it is no error. */
  async #removeOrWarn(name: string): Promise<void> {
    try {
      await removeIfPresent(this.repo, name);
    } catch (err) {
      this.onWarning(
        `cannot remove lock file locks/${name} (${(err as Error).message}); ` +
          `it expires ${STALE_LOCK_MS / 60_000} minutes after ${
            new Date(this.info.refreshed).toISOString()
          }`,
      );
    }
  }
}

/** Every readable lock file; a lock removed while listing is skipped. */
export async function listLocks(
  repo: LockRepo,
  opts: { signal?: AbortSignal } = {},
): Promise<LockFile[]> {
  const out: LockFile[] = [];
  for await (const f of repo.backend.list("locks", opts)) {
    let raw: unknown;
    try {
      raw = await loadSealedJson(repo.backend, repo.master.enc, "locks", f.name);
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    out.push({ ...validateLock(raw, f.name), name: f.name });
  }
  return out;
}

/** How to tell whether a lock's holder still runs on this machine. */
export interface LocalProcesses {
  /** This machine's name, as locks written here carry it. */
  host: string;
  /** Does a process with this pid run here? */
  isRunning(pid: number): boolean;
}

/** This machine: its hostname, and `kill(pid, 0)` to ask whether a pid runs. */
export const THIS_MACHINE: LocalProcesses = {
  host: Deno.hostname(),
  isRunning(pid: number): boolean {
    if (pid === Deno.pid) return true;
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      // EPERM: it runs, as another user. Only "no such process" means dead.
      return (err as { code?: string }).code !== "ESRCH";
    }
  },
};

/**
 * Is `lock` stale at time `now`: not refreshed for `staleMs`, or held by a
 * process of this machine that no longer runs?
 */
export function isStaleLock(
  lock: LockInfo,
  now: number,
  staleMs = STALE_LOCK_MS,
  local: LocalProcesses = THIS_MACHINE,
): boolean {
  if (lock.refreshed < now - staleMs) return true;
  return lock.host === local.host && !local.isRunning(lock.pid);
}

/**
 * Takes the exclusive (prune) lock: writes it, then refuses with
 * {@link LockedError} (removing its own file) if another live exclusive lock
 * exists. Live shared locks do not block; the caller sees them via
 * {@link listLocks}.
 */
export async function acquireExclusiveLock(
  repo: LockRepo,
  opts: LockOptions = {},
): Promise<RepoLock> {
  const lock = await writeLock(repo, "exclusive", opts);
  try {
    const now = (opts.now ?? Date.now)();
    const other = (await listLocks(repo, opts)).find((l) =>
      l.name !== lock.name && l.kind === "exclusive" && !isStaleLock(l, now, opts.staleMs)
    );
    if (other) throw new LockedError(other);
  } catch (err) {
    await lock.release().catch(() => {});
    throw err;
  }
  return lock;
}

/** Writes a shared lock (a running backup or reader announcing itself, rule 4); never refuses. */
export function acquireSharedLock(repo: LockRepo, opts: LockOptions = {}): Promise<RepoLock> {
  return writeLock(repo, "shared", opts);
}

/** Stops refreshing `lock` and removes its file. */
export function releaseLock(lock: RepoLock): Promise<void> {
  return lock.release();
}

/** Removes every stale lock (see {@link isStaleLock}); returns the names removed. */
export async function removeStaleLocks(
  repo: LockRepo,
  opts: { now?: () => number; staleMs?: number; local?: LocalProcesses; signal?: AbortSignal } = {},
): Promise<string[]> {
  const now = (opts.now ?? Date.now)();
  const removed: string[] = [];
  for (const l of await listLocks(repo, opts)) {
    if (!isStaleLock(l, now, opts.staleMs, opts.local)) continue;
    if (await removeIfPresent(repo, l.name)) removed.push(l.name);
  }
  return removed;
}

/**
 * Removes every lock file, live ones too (`cairn unlock --remove-all`): only
 * for when the user knows no other cairn uses the repository. Returns the
 * names removed.
 */
export async function removeAllLocks(
  repo: LockRepo,
  opts: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const removed: string[] = [];
  for await (const f of repo.backend.list("locks", opts)) {
    if (await removeIfPresent(repo, f.name)) removed.push(f.name);
  }
  return removed;
}

async function writeLock(
  repo: LockRepo,
  kind: LockInfo["kind"],
  opts: LockOptions,
): Promise<RepoLock> {
  opts.signal?.throwIfAborted();
  const now = opts.now ?? Date.now;
  const t = now();
  const info: LockInfo = {
    kind,
    host: opts.host ?? THIS_MACHINE.host,
    pid: opts.pid ?? Deno.pid,
    time: t,
    refreshed: t,
  };
  const name = await saveSealedJson(repo.backend, repo.master.enc, "locks", info);
  return new RepoLock(repo, name, info, now, opts.refreshMs ?? LOCK_REFRESH_MS, opts.onWarning);
}

async function removeIfPresent(repo: LockRepo, name: string): Promise<boolean> {
  try {
    await repo.backend.remove("locks", name);
    return true;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    return false;
  }
}

function validateLock(raw: unknown, name: string): LockInfo {
  const l = raw as LockInfo;
  const ok = l && (l.kind === "exclusive" || l.kind === "shared") &&
    typeof l.host === "string" && Number.isSafeInteger(l.pid) &&
    Number.isFinite(l.time) && Number.isFinite(l.refreshed);
  if (!ok) {
    throw new CorruptError(
      `lock file "${name}" is malformed; remove locks/${name} by hand if no prune is running`,
    );
  }
  return { kind: l.kind, host: l.host, pid: l.pid, time: l.time, refreshed: l.refreshed };
}
