import type { Node, Repository, SnapshotWithId } from "../repo/mod.ts";
import { PathGlob } from "./path_glob.ts";
import { joinPath } from "./walk_snapshot.ts";

/** One matching entry. */
export interface FindMatch {
  path: string;
  node: Node;
}

/** The matches in one snapshot. */
export interface SnapshotMatches {
  snapshot: SnapshotWithId;
  matches: FindMatch[];
}

/** One version of a path: the same type, content (or target) and mtime. */
export interface PathVersion {
  node: Node;
  /** Ids of the snapshots holding this version, oldest first. */
  snapshots: string[];
  /** Times of the first and last of those snapshots. */
  first: string;
  last: string;
}

/** A matching path and its distinct versions, oldest first. */
export interface PathHistory {
  path: string;
  versions: PathVersion[];
}

export interface FindResult {
  /** Snapshots with at least one match, in the order given. */
  bySnapshot: SnapshotMatches[];
  /** Every matching path, sorted, with its versions across the snapshots. */
  byPath: PathHistory[];
}

export interface FindOptions {
  signal?: AbortSignal;
}

/**
 * Which snapshots hold a path matching `glob` (see {@link PathGlob}), and
 * the versions of each such path. A subtree met again in another snapshot
 * (same tree id, and for a path glob the same place) is not read again.
 */
export async function find(
  repo: Repository,
  snapshots: readonly SnapshotWithId[],
  glob: string,
  opts: FindOptions = {},
): Promise<FindResult> {
  const pattern = new PathGlob(glob);
  /** Matches below a tree, with paths relative to it ("" + "/name"…). */
  const cache = new Map<string, FindMatch[]>();

  const search = async (treeId: string, prefix: string): Promise<FindMatch[]> => {
    const key = pattern.byName ? treeId : `${prefix}\0${treeId}`;
    const hit = cache.get(key);
    if (hit) return hit;
    opts.signal?.throwIfAborted();
    const found: FindMatch[] = [];
    const tree = await repo.loadTree(treeId);
    for (const node of tree.nodes) {
      const path = joinPath(prefix, node.name);
      const rel = `/${node.name}`;
      if (pattern.matches(path, node.name)) found.push({ path: rel, node });
      if (node.type === "dir" && node.subtree && pattern.mayContain(path)) {
        for (const m of await search(node.subtree, path)) {
          found.push({ path: rel + m.path, node: m.node });
        }
      }
    }
    cache.set(key, found);
    return found;
  };

  const bySnapshot: SnapshotMatches[] = [];
  const histories = new Map<string, Map<string, PathVersion>>();
  const ordered = [...snapshots].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  for (const snapshot of ordered) {
    const matches = await search(snapshot.tree, "/");
    if (matches.length === 0) continue;
    bySnapshot.push({ snapshot, matches });
    for (const m of matches) {
      let versions = histories.get(m.path);
      if (!versions) histories.set(m.path, versions = new Map());
      const key = versionKey(m.node);
      const v = versions.get(key);
      if (v) {
        v.snapshots.push(snapshot.id);
        v.last = snapshot.time;
      } else {
        versions.set(key, {
          node: m.node,
          snapshots: [snapshot.id],
          first: snapshot.time,
          last: snapshot.time,
        });
      }
    }
  }
  const order = new Map(snapshots.map((s, i) => [s.id, i]));
  bySnapshot.sort((a, b) => order.get(a.snapshot.id)! - order.get(b.snapshot.id)!);
  const byPath = [...histories.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([path, versions]) => ({ path, versions: [...versions.values()] }));
  return { bySnapshot, byPath };
}

/** What makes two entries at one path the same version. */
function versionKey(n: Node): string {
  const data = n.type === "file"
    ? (n.content ?? []).join(",")
    : n.type === "symlink"
    ? n.target ?? ""
    : n.type === "dir"
    ? ""
    : String(n.rdev ?? "");
  return `${n.type}\0${n.mtime}\0${data}`;
}
