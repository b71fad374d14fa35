/**
 * Repairs after damage: `repairIndex` rebuilds the index from the packs'
 * own headers, `repairSnapshots` rewrites snapshots around trees and blobs
 * that are gone, recording what was lost. Neither deletes a pack.
 *
 * @module
 */
import { CorruptError } from "./format.ts";
import { type PackEntry, saveIndexFile } from "./index.ts";
import { acquireExclusiveLock, type LockRepo } from "./lock.ts";
import { readPackTrailer } from "./pack.ts";
import type { Snapshot, SnapshotWithId } from "./snapshot.ts";
import { rewritingTrees, type TreeRewrite, type TreeRewriteRepo } from "./_tree_rewrite.ts";
import { InvalidTreeError, type Node, type Tree } from "./tree.ts";

/**
 * What `repair index` needs of a repository: storage and the key index files
 * are sealed with (as for its lock), and a way to reload the index it
 * rebuilt. `Repository` is one.
 */
export interface RepairIndexRepo extends LockRepo {
  reloadIndex(): Promise<void>;
}

/**
 * What `repair snapshots` needs: storage, keys, the index (to find what is
 * stored and add what it writes), snapshots and trees, a pack writer, and
 * what its lock and last check need. `Repository` is one.
 */
export interface RepairSnapshotsRepo extends TreeRewriteRepo {
  loadSnapshot(id: string): Promise<SnapshotWithId>;
  saveSnapshot(snapshot: Snapshot): Promise<string>;
}

export interface RepairIndexStats {
  packs: number;
  blobs: number;
  /** Packs whose header (trailer) cannot be read: their blobs are in no index now. */
  unreadablePacks: string[];
  indexFilesReplaced: number;
}

/**
 * Writes one index file listing every pack whose trailer reads, superseding
 * every index file there was (damaged ones too), then deletes those. Holds
 * the exclusive lock, as prune does, so the two never rewrite the index at
 * once; packs dropped by an earlier prune become live again (a later prune
 * drops them anew if unused).
 */
export async function repairIndex(
  repo: RepairIndexRepo,
  opts: { signal?: AbortSignal; onProgress?: (msg: string) => void } = {},
): Promise<RepairIndexStats> {
  const { signal } = opts;
  const lock = await acquireExclusiveLock(repo, { signal, onWarning: opts.onProgress });
  try {
    const old: string[] = [];
    for await (const f of repo.backend.list("index", { signal })) old.push(f.name);
    const packs: PackEntry[] = [];
    const stats: RepairIndexStats = {
      packs: 0,
      blobs: 0,
      unreadablePacks: [],
      indexFilesReplaced: 0,
    };
    for await (const f of repo.backend.list("data", { signal })) {
      signal?.throwIfAborted();
      try {
        const { salt, blobs } = await readPackTrailer(repo.backend, repo.master.enc, f.name);
        packs.push({ name: f.name, salt, blobs });
        stats.blobs += blobs.length;
      } catch (err) {
        if (!(err instanceof CorruptError || err instanceof RangeError)) throw err;
        stats.unreadablePacks.push(f.name);
        opts.onProgress?.(`warning: pack data/${f.name}: ${err.message}`);
      }
    }
    stats.packs = packs.length;
    await saveIndexFile(repo.backend, repo.master.enc, packs, old);
    for (const name of old) {
      await repo.backend.remove("index", name).then(() => stats.indexFilesReplaced++, () => {});
    }
    await repo.reloadIndex();
    return stats;
  } finally {
    await lock.release();
  }
}

export interface RepairSnapshotsOptions {
  /** Remove the damaged originals (and snapshot files that cannot be read at all). */
  forget?: boolean;
  /** Report only; write nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?: (msg: string) => void;
}

/** One snapshot that lost something, and its replacement. */
export interface RepairedSnapshot {
  original: string;
  /** The new snapshot's id (none in a dry run). */
  id?: string;
  /** Paths of the directories and files that could not be kept. */
  lost: string[];
}

export interface RepairSnapshotsResult {
  repaired: RepairedSnapshot[];
  /** Snapshot files that cannot be read at all (removed with `forget`). */
  unreadable: string[];
}

/**
 * Rewrites every snapshot that references a tree that cannot be read or a
 * data blob stored nowhere: such a directory is kept empty, such a file is
 * left out, and the new snapshot lists what was lost (`repaired`), is marked
 * incomplete and tagged `repaired`. Run `repairIndex` first if the index is
 * damaged: a blob only an unindexed pack holds counts as stored nowhere.
 */
export async function repairSnapshots(
  repo: RepairSnapshotsRepo,
  opts: RepairSnapshotsOptions = {},
): Promise<RepairSnapshotsResult> {
  const { signal } = opts;
  const dryRun = opts.dryRun === true;
  return await rewritingTrees(repo, {
    lock: "shared",
    dryRun,
    signal,
    onWarning: opts.onProgress,
  }, async (trees) => {
    const stored = new Set<string>();
    for await (const f of repo.backend.list("data", { signal })) stored.add(f.name);
    const unreadable: string[] = [];
    const names: string[] = [];
    for await (const f of repo.backend.list("snapshots", { signal })) names.push(f.name);
    const snapshots: SnapshotWithId[] = [];
    for (const name of names.sort()) {
      try {
        snapshots.push(await repo.loadSnapshot(name));
      } catch (err) {
        if (!(err instanceof CorruptError)) throw err;
        unreadable.push(name);
      }
    }
    const fixer = new TreeFixer(repo, stored, trees);
    const repaired: RepairedSnapshot[] = [];
    for (const s of snapshots) {
      signal?.throwIfAborted();
      const lost: string[] = [];
      const root = await fixer.fix(s.tree, "", lost);
      if (root === s.tree) continue;
      opts.onProgress?.(`snapshot ${s.id.slice(0, 8)}: ${lost.length} path(s) lost`);
      repaired.push({ original: s.id, lost });
      if (dryRun) continue;
      const { id: _, ...old } = s;
      const snapshot: Snapshot = {
        ...old,
        tree: root,
        tags: old.tags.includes("repaired") ? old.tags : [...old.tags, "repaired"],
        incomplete: { errors: (old.incomplete?.errors ?? 0) + lost.length },
        repaired: { original: s.id, lost: lost.length, paths: lost.slice(0, 100) },
      };
      repaired[repaired.length - 1].id = await trees.commit(
        root,
        () => repo.saveSnapshot(snapshot),
      );
      if (opts.forget) await repo.backend.remove("snapshots", s.id);
    }
    if (opts.forget && !dryRun) {
      for (const name of unreadable) await repo.backend.remove("snapshots", name);
    }
    return { repaired, unreadable };
  });
}

/** Rebuilds trees without what is gone; trees that lose nothing keep their id. */
class TreeFixer {
  /** Trees already found whole. */
  readonly #whole = new Set<string>();

  constructor(
    private readonly repo: RepairSnapshotsRepo,
    private readonly stored: Set<string>,
    private readonly trees: TreeRewrite,
  ) {}

  async fix(id: string, path: string, lost: string[]): Promise<string> {
    if (this.#whole.has(id)) return id;
    let tree: Tree;
    try {
      tree = await this.repo.loadTree(id);
    } catch (err) {
      if (err instanceof InvalidTreeError) throw err;
      lost.push(path === "" ? "/" : path);
      return this.trees.saveTree({ nodes: [] });
    }
    const nodes: Node[] = [];
    let changed = false;
    for (const node of tree.nodes) {
      const p = `${path}/${node.name}`;
      if (node.type === "dir" && node.subtree) {
        const sub = await this.fix(node.subtree, p, lost);
        if (sub !== node.subtree) changed = true;
        nodes.push(sub === node.subtree ? node : { ...node, subtree: sub });
      } else if (node.type === "file" && !(node.content ?? []).every((b) => this.#stored(b))) {
        lost.push(p);
        changed = true;
      } else nodes.push(node);
    }
    if (changed) return this.trees.saveTree({ nodes });
    this.#whole.add(id);
    return id;
  }

  #stored(blob: string): boolean {
    const entry = this.repo.index.get(blob);
    return entry !== undefined && entry.type === "data" && this.stored.has(entry.pack.name);
  }
}
