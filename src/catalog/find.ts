import { cycleError, type Node, type SnapshotWithId, WalkBudget } from "../repo/mod.ts";
import { PathGlob } from "./path_glob.ts";
import { joinPath, type TreeSource } from "./walk_snapshot.ts";

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
  /** Entries (visited, or matches copied from a shared subtree) before the search stops. */
  maxEntries?: number;
  signal?: AbortSignal;
}

/**
 * Which snapshots hold a path matching `glob` (see {@link PathGlob}), and
 * the versions of each such path. A subtree met again in another snapshot
 * (same tree id, and for a path glob the same place) is not read again.
 */
export async function find(
  repo: TreeSource,
  snapshots: readonly SnapshotWithId[],
  glob: string,
  opts: FindOptions = {},
): Promise<FindResult> {
  const pattern = new PathGlob(glob);
  /** Matches below a tree, with paths relative to it ("" + "/name"…). */
  const cache = new Map<string, FindMatch[]>();

  // One budget for the whole search: copying a shared subtree's matches to
  // each place it appears is the work a hostile tree multiplies.
  const budget = new WalkBudget({ limit: opts.maxEntries, signal: opts.signal });
  const search = async (rootId: string, rootPrefix: string): Promise<FindMatch[]> => {
    interface Frame {
      id: string;
      key: string;
      prefix: string;
      nodes: Node[];
      at: number;
      found: FindMatch[];
    }
    // An explicit stack: the trees choose the depth. A frame's matches are
    // handed to its parent (under the entry's name) when it is done.
    const stack: Frame[] = [];
    const onPath = new Set<string>();
    let result: FindMatch[] | undefined;
    const deliver = async (matches: FindMatch[], rel: string) => {
      const parent = stack[stack.length - 1];
      if (!parent) return void (result = matches);
      for (const m of matches) {
        const wait = budget.spend();
        if (wait) await wait;
        parent.found.push({ path: rel + m.path, node: m.node });
      }
    };
    /** Starts on a tree, or hands over its cached matches. */
    const open = async (id: string, prefix: string, rel: string) => {
      const key = pattern.byName ? id : `${prefix}\0${id}`;
      const hit = cache.get(key);
      if (hit) return await deliver(hit, rel);
      if (onPath.has(id)) throw cycleError(id, prefix);
      const tree = await repo.loadTree(id);
      onPath.add(id);
      stack.push({ id, key, prefix, nodes: tree.nodes, at: 0, found: [] });
    };
    await open(rootId, rootPrefix, "");
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.at >= top.nodes.length) {
        stack.pop();
        onPath.delete(top.id);
        cache.set(top.key, top.found);
        const rel = `/${top.prefix.slice(top.prefix.lastIndexOf("/") + 1)}`;
        await deliver(top.found, stack.length > 0 ? rel : "");
        continue;
      }
      const node = top.nodes[top.at++];
      const wait = budget.spend();
      if (wait) await wait;
      const path = joinPath(top.prefix, node.name);
      if (pattern.matches(path, node.name)) top.found.push({ path: `/${node.name}`, node });
      if (node.type === "dir" && node.subtree && pattern.mayContain(path)) {
        await open(node.subtree, path, `/${node.name}`);
      }
    }
    return result!;
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
