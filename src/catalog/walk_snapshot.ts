import { dateToNs, type Node, type Repository, type Snapshot } from "../repo/mod.ts";

/** One entry of a snapshot, with its absolute path in the snapshot (`/home/ann/x`). */
export interface SnapshotEntry {
  path: string;
  node: Node;
}

export interface WalkOptions {
  /** The path of the tree being walked (default `/`); entries' paths start with it. */
  prefix?: string;
  /** Called before entering a directory; returning false skips what is below it. */
  enter?: (entry: SnapshotEntry) => boolean;
  signal?: AbortSignal;
}

/** `prefix` joined with `name`. */
export function joinPath(prefix: string, name: string): string {
  return prefix === "/" || prefix === "" ? `/${name}` : `${prefix}/${name}`;
}

/**
 * Every entry below tree `treeId`, depth first, each directory's entries in
 * the tree's order (sorted by name) and a directory before its contents.
 */
export async function* walkSnapshot(
  repo: Repository,
  treeId: string,
  opts: WalkOptions = {},
): AsyncGenerator<SnapshotEntry> {
  const tree = await repo.loadTree(treeId);
  const prefix = opts.prefix ?? "/";
  for (const node of tree.nodes) {
    opts.signal?.throwIfAborted();
    const entry = { path: joinPath(prefix, node.name), node };
    yield entry;
    if (node.type === "dir" && node.subtree && (opts.enter?.(entry) ?? true)) {
      yield* walkSnapshot(repo, node.subtree, { ...opts, prefix: entry.path });
    }
  }
}

/** The components of an absolute snapshot path; `.` and empty parts dropped, `..` resolved. */
export function splitPath(path: string): string[] {
  const parts: string[] = [];
  for (const p of path.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") parts.pop();
    else parts.push(p);
  }
  return parts;
}

/** The node that stands for a snapshot's root directory (which has no node of its own). */
export function rootNode(snapshot: Pick<Snapshot, "tree" | "time">): Node {
  const t = dateToNs(new Date(snapshot.time));
  return {
    name: "/",
    type: "dir",
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: t,
    ctime: t,
    inode: 0,
    dev: 0,
    links: 1,
    subtree: snapshot.tree,
  };
}

/**
 * The node at `path` in a snapshot, or undefined when there is none. `/`
 * gives {@link rootNode}.
 */
export async function findPath(
  repo: Repository,
  snapshot: Pick<Snapshot, "tree" | "time">,
  path: string,
): Promise<Node | undefined> {
  let node = rootNode(snapshot);
  for (const part of splitPath(path)) {
    if (node.type !== "dir" || !node.subtree) return undefined;
    const tree = await repo.loadTree(node.subtree);
    const next = tree.nodes.find((n) => n.name === part);
    if (!next) return undefined;
    node = next;
  }
  return node;
}
