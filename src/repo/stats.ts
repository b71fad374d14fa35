/**
 * `cairn stats`: how large a repository is, as restic's `stats` modes
 * `restore-size` (what restoring the snapshots would write) and `raw-data`
 * (the unique blobs they reference, before and after compression and
 * encryption), for all snapshots together and per host and job.
 */
import type { FileStat } from "../backend/mod.ts";
import type { IndexEntry } from "./index.ts";
import { mapLimit } from "./index.ts";
import type { SnapshotWithId } from "./snapshot.ts";
import type { Tree } from "./tree.ts";

/** What stats reads: trees, the index and the pack listing. */
export interface StatsRepo {
  loadTree(id: string): Promise<Tree>;
  readonly index: {
    get(id: string): IndexEntry | undefined;
    entries(): IterableIterator<[string, IndexEntry]>;
    readonly size: number;
  };
  readonly backend: { list(type: "data"): AsyncIterable<FileStat> };
}

/** The size of a set of snapshots, both ways. */
export interface SizeStats {
  snapshots: number;
  /** File entries restoring every snapshot would write (a name in each snapshot counts once). */
  files: number;
  /** Bytes restoring every snapshot would write: restic's `restore-size`. */
  restoreSize: number;
  /** Unique blobs (data and tree) the snapshots reference. */
  blobs: number;
  /** Their plaintext bytes, each blob once: the deduplicated size (restic's `raw-data`, uncompressed). */
  dedupSize: number;
  /**
   * Their share of the repository's storage after compression and
   * encryption: each blob's part of its segment, by plaintext length, so the
   * shares of all blobs add up to the segments' bytes.
   */
  storedSize: number;
  /** Referenced blobs the index does not list (damage: `cairn check` tells more). */
  missingBlobs: number;
}

/** One host and job's snapshots. */
export interface GroupStats extends SizeStats {
  host: string;
  /** The job that made them; undefined for snapshots of `cairn backup`. */
  job?: string;
}

/** The whole answer of {@link repositoryStats}. */
export interface RepositoryStats {
  /** The snapshots given, together (shared blobs count once). */
  total: SizeStats;
  /** Per host and job, sorted by host then job. */
  groups: GroupStats[];
  /** The storage itself, whatever references it. */
  repository: { packs: number; packBytes: number; indexedBlobs: number };
}

interface TreeFacts {
  files: number;
  bytes: number;
  subtrees: string[];
  content: string[];
}

/**
 * Measures `snapshots`. Each tree is read once, however many snapshots
 * share it; a tree that cannot be read throws (a size from a partial walk
 * would be wrong without saying so).
 */
export async function repositoryStats(
  repo: StatsRepo,
  snapshots: readonly SnapshotWithId[],
  opts: { signal?: AbortSignal } = {},
): Promise<RepositoryStats> {
  const trees = await readTrees(repo, snapshots.map((s) => s.tree), opts.signal);
  const segmentPlain = segmentPlaintext(repo);
  const restore = restoreTotals(trees);
  const measure = (snaps: readonly SnapshotWithId[]): SizeStats => {
    const blobs = reachable(trees, snaps.map((s) => s.tree));
    let dedupSize = 0, storedSize = 0, missingBlobs = 0;
    for (const id of blobs) {
      const e = repo.index.get(id);
      if (!e) {
        missingBlobs++;
        continue;
      }
      dedupSize += e.rawLength;
      const plain = segmentPlain.get(segmentKey(e)) ?? e.rawLength;
      storedSize += plain > 0 ? e.length * e.rawLength / plain : 0;
    }
    let files = 0, restoreSize = 0;
    for (const s of snaps) {
      const t = restore.get(s.tree)!;
      files += t.files;
      restoreSize += t.bytes;
    }
    return {
      snapshots: snaps.length,
      files,
      restoreSize,
      blobs: blobs.size,
      dedupSize,
      storedSize: Math.round(storedSize),
      missingBlobs,
    };
  };
  const byGroup = new Map<string, SnapshotWithId[]>();
  for (const s of snapshots) {
    const key = JSON.stringify([s.host, s.job ?? null]);
    const list = byGroup.get(key) ?? [];
    list.push(s);
    byGroup.set(key, list);
  }
  const groups = [...byGroup.values()].map((snaps): GroupStats => ({
    host: snaps[0].host,
    ...(snaps[0].job !== undefined ? { job: snaps[0].job } : {}),
    ...measure(snaps),
  })).sort((a, b) => a.host.localeCompare(b.host) || (a.job ?? "").localeCompare(b.job ?? ""));
  let packs = 0, packBytes = 0;
  for await (const f of repo.backend.list("data")) {
    packs++;
    packBytes += f.size;
  }
  return {
    total: measure(snapshots),
    groups,
    repository: { packs, packBytes, indexedBlobs: repo.index.size },
  };
}

/** Reads every tree reachable from `roots`, each once. */
async function readTrees(
  repo: StatsRepo,
  roots: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, TreeFacts>> {
  const trees = new Map<string, TreeFacts>();
  const queued = new Set(roots);
  let queue = [...queued];
  while (queue.length > 0) {
    const next: string[] = [];
    await mapLimit(queue, 8, async (id) => {
      signal?.throwIfAborted();
      const tree = await repo.loadTree(id);
      const facts: TreeFacts = { files: 0, bytes: 0, subtrees: [], content: [] };
      for (const n of tree.nodes) {
        if (n.type === "file") {
          facts.files++;
          facts.bytes += n.size ?? 0;
        }
        if (n.content) facts.content.push(...n.content);
        if (n.subtree) {
          facts.subtrees.push(n.subtree);
          if (!queued.has(n.subtree)) {
            queued.add(n.subtree);
            next.push(n.subtree);
          }
        }
      }
      trees.set(id, facts);
    });
    queue = next;
  }
  return trees;
}

/**
 * Files and bytes under each tree, a subtree named twice counted twice (as
 * a restore writes it twice); each tree is summed once. Trees are named by
 * their content's hash, so none can contain itself.
 */
function restoreTotals(
  trees: Map<string, TreeFacts>,
): Map<string, { files: number; bytes: number }> {
  const done = new Map<string, { files: number; bytes: number }>();
  for (const root of trees.keys()) {
    const stack: { id: string; expanded: boolean }[] = [{ id: root, expanded: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (done.has(top.id)) {
        stack.pop();
        continue;
      }
      const facts = trees.get(top.id)!;
      if (!top.expanded) {
        top.expanded = true;
        for (const s of facts.subtrees) if (!done.has(s)) stack.push({ id: s, expanded: false });
        continue;
      }
      stack.pop();
      let files = facts.files, bytes = facts.bytes;
      for (const s of facts.subtrees) {
        const sub = done.get(s)!;
        files += sub.files;
        bytes += sub.bytes;
      }
      done.set(top.id, { files, bytes });
    }
  }
  return done;
}

/** Every blob (trees and their content) reachable from `roots`. */
function reachable(trees: Map<string, TreeFacts>, roots: readonly string[]): Set<string> {
  const blobs = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (blobs.has(id)) continue;
    blobs.add(id);
    const facts = trees.get(id)!;
    for (const c of facts.content) blobs.add(c);
    for (const s of facts.subtrees) if (!blobs.has(s)) stack.push(s);
  }
  return blobs;
}

const segmentKey = (e: IndexEntry) => `${e.pack.name}/${e.offset}`;

/** The plaintext bytes of each segment the index lists: what its sealed bytes are shared by. */
function segmentPlaintext(repo: StatsRepo): Map<string, number> {
  const plain = new Map<string, number>();
  for (const [, e] of repo.index.entries()) {
    const key = segmentKey(e);
    plain.set(key, (plain.get(key) ?? 0) + e.rawLength);
  }
  return plain;
}
