/**
 * Changing stored snapshots, as restic's `tag` and `rewrite` do: a snapshot
 * file is never edited in place. A new one is written (recording the id it
 * replaces in `original`), then the old file is removed, so a crash in
 * between leaves both, never neither.
 *
 * @module
 */
import type { Excluder } from "../walker/mod.ts";
import { acquireExclusiveLock, type LockRepo, type RepoLock } from "./lock.ts";
import type { Snapshot, SnapshotWithId } from "./snapshot.ts";
import { rewritingTrees, type TreeRewrite, type TreeRewriteRepo } from "./_tree_rewrite.ts";
import type { Node } from "./tree.ts";

/** What replacing a snapshot needs: storage (and its lock), and snapshot files. */
export interface SnapshotEditRepo extends LockRepo {
  saveSnapshot(snapshot: Snapshot): Promise<string>;
  onWarning?: (msg: string) => void;
}

/** What `rewriteSnapshots` needs besides: keys, the index, trees and a pack writer. */
export interface RewriteRepo extends Omit<SnapshotEditRepo, "master">, TreeRewriteRepo {}

/** A tag change, restic's: `set` replaces all tags; else `remove`, then `add`. */
export interface TagChange {
  add?: readonly string[];
  remove?: readonly string[];
  set?: readonly string[];
}

/** The tags `change` gives a snapshot with `tags`: sorted, each once. */
export function changeTags(tags: readonly string[], change: TagChange): string[] {
  let out = change.set ? [...change.set] : [...tags];
  if (!change.set) {
    const drop = new Set(change.remove ?? []);
    out = out.filter((t) => !drop.has(t)).concat(change.add ?? []);
  }
  return [...new Set(out.filter((t) => t !== ""))].sort();
}

/** One snapshot and what replaced it. */
export interface ReplacedSnapshot {
  /** The snapshot file replaced (removed unless kept). */
  old: string;
  /** The new snapshot's id (absent in a dry run). */
  id?: string;
}

/**
 * Writes `next` as a new snapshot in place of `old` (its `original` names
 * the first snapshot of the chain), then removes the old file unless
 * `keepOld`. The caller holds the lock.
 */
export async function replaceSnapshot(
  repo: SnapshotEditRepo,
  old: SnapshotWithId,
  next: Snapshot,
  keepOld = false,
): Promise<string> {
  const { id: _, ...fields } = next as SnapshotWithId;
  const id = await repo.saveSnapshot({ ...fields, original: old.original ?? old.id });
  if (!keepOld && id !== old.id) await repo.backend.remove("snapshots", old.id);
  return id;
}

/**
 * Changes the tags of `snapshots` under the exclusive lock (so no forget or
 * prune runs meanwhile): each one whose tags change is replaced. Returns the
 * replaced ones; unchanged snapshots are left alone.
 */
export async function tagSnapshots(
  repo: SnapshotEditRepo,
  snapshots: readonly SnapshotWithId[],
  change: TagChange,
  opts: { signal?: AbortSignal; lock?: RepoLock } = {},
): Promise<ReplacedSnapshot[]> {
  const { signal } = opts;
  const lock = opts.lock ??
    await acquireExclusiveLock(repo, { signal, onWarning: repo.onWarning });
  try {
    const out: ReplacedSnapshot[] = [];
    for (const s of snapshots) {
      signal?.throwIfAborted();
      const tags = changeTags(s.tags, change);
      if (sameList(tags, [...s.tags].sort())) continue;
      out.push({ old: s.id, id: await replaceSnapshot(repo, s, { ...s, tags }) });
    }
    return out;
  } finally {
    if (!opts.lock) await lock.release();
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export interface RewriteOptions {
  /** Remove each rewritten original (under the exclusive lock, as restic). */
  forget?: boolean;
  /** Report only; write nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
}

/** One snapshot that lost paths to the excludes, and its replacement. */
export interface RewrittenSnapshot extends ReplacedSnapshot {
  /** The snapshot paths removed (a directory stands for what was below it). */
  removed: string[];
}

/**
 * Rewrites each of `snapshots` without the entries `exclude` matches (on
 * their absolute snapshot paths, as backup's `--exclude`): new trees are
 * written, unchanged subtrees keep their ids, and a snapshot that loses
 * nothing is left alone. The originals stay unless `forget`; their data goes
 * only with a prune after they are gone.
 */
export async function rewriteSnapshots(
  repo: RewriteRepo,
  snapshots: readonly SnapshotWithId[],
  exclude: Excluder,
  opts: RewriteOptions = {},
): Promise<RewrittenSnapshot[]> {
  const { signal } = opts;
  return await rewritingTrees(repo, {
    lock: opts.forget ? "exclusive" : "shared",
    dryRun: opts.dryRun === true,
    signal,
    onWarning: repo.onWarning,
  }, async (trees) => {
    const pruner = new TreePruner(repo, exclude, trees);
    const out: RewrittenSnapshot[] = [];
    for (const s of snapshots) {
      signal?.throwIfAborted();
      const removed: string[] = [];
      const root = await pruner.prune(s.tree, "", removed, signal);
      if (root === s.tree) continue;
      opts.onProgress?.(`snapshot ${s.id.slice(0, 8)}: ${removed.length} path(s) removed`);
      out.push({ old: s.id, removed });
      if (opts.dryRun) continue;
      const { summary: _, ...rest } = s;
      out[out.length - 1].id = await trees.commit(
        root,
        () => replaceSnapshot(repo, s, { ...rest, tree: root }, !opts.forget),
      );
    }
    return out;
  });
}

/** Rebuilds trees without excluded entries; trees that lose nothing keep their id. */
class TreePruner {
  /** Trees already rebuilt (or found unchanged), by id and path: the excludes depend on both. */
  readonly #done = new Map<string, { id: string; removed: string[] }>();

  constructor(
    private readonly repo: RewriteRepo,
    private readonly exclude: Excluder,
    private readonly trees: TreeRewrite,
  ) {}

  async prune(id: string, path: string, removed: string[], signal?: AbortSignal): Promise<string> {
    const key = `${id}\0${path}`;
    const done = this.#done.get(key);
    if (done !== undefined) {
      removed.push(...done.removed);
      return done.id;
    }
    signal?.throwIfAborted();
    const tree = await this.repo.loadTree(id);
    const nodes: Node[] = [];
    const here: string[] = [];
    for (const node of tree.nodes) {
      const p = `${path}/${node.name}`;
      if (this.exclude.excludes(p)) {
        here.push(p);
        continue;
      }
      if (node.type === "dir" && node.subtree) {
        const sub = await this.prune(node.subtree, p, here, signal);
        nodes.push(sub === node.subtree ? node : { ...node, subtree: sub });
      } else nodes.push(node);
    }
    const result = here.length > 0 ? this.trees.saveTree({ nodes }) : id;
    this.#done.set(key, { id: result, removed: here });
    removed.push(...here);
    return result;
  }
}
