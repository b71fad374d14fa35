import {
  cycleError,
  dateToNs,
  type Node,
  type Snapshot,
  type Tree,
  WalkBudget,
} from "../repo/mod.ts";

/** One entry of a snapshot, with its absolute path in the snapshot (`/home/ann/x`). */
export interface SnapshotEntry {
  path: string;
  node: Node;
}

/** What a walk needs from a repository. */
export interface TreeSource {
  loadTree(id: string): Promise<Tree>;
}

export interface WalkOptions {
  /** The path of the tree being walked (default `/`); entries' paths start with it. */
  prefix?: string;
  /** Called before entering a directory; returning false skips what is below it. */
  enter?: (entry: SnapshotEntry) => boolean;
  signal?: AbortSignal;
  /** Counts the entries visited (default: a new one, with the default limit and `signal`). */
  budget?: WalkBudget;
}

/** `prefix` joined with `name`. */
export function joinPath(prefix: string, name: string): string {
  return prefix === "/" || prefix === "" ? `/${name}` : `${prefix}/${name}`;
}

/**
 * Every entry below tree `treeId`, depth first, each directory's entries in
 * the tree's order (sorted by name) and a directory before its contents.
 *
 * The trees are data: the walk keeps its own stack (a 2,000-level tree is
 * as fine as a flat one), counts entries against its {@link WalkBudget} and
 * refuses a tree that contains itself, with a {@link WalkLimitError}.
 */
export async function* walkSnapshot(
  repo: TreeSource,
  treeId: string,
  opts: WalkOptions = {},
): AsyncGenerator<SnapshotEntry> {
  const budget = opts.budget ?? new WalkBudget({ signal: opts.signal });
  const stack: { id: string; nodes: Node[]; at: number; prefix: string }[] = [];
  const onPath = new Set<string>();
  const enter = async (id: string, prefix: string) => {
    if (onPath.has(id)) throw cycleError(id, prefix);
    const tree = await repo.loadTree(id);
    onPath.add(id);
    stack.push({ id, nodes: tree.nodes, at: 0, prefix });
  };
  await enter(treeId, opts.prefix ?? "/");
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.at >= top.nodes.length) {
      stack.pop();
      onPath.delete(top.id);
      continue;
    }
    const node = top.nodes[top.at++];
    opts.signal?.throwIfAborted();
    const wait = budget.spend();
    if (wait) await wait;
    const entry = { path: joinPath(top.prefix, node.name), node };
    yield entry;
    if (node.type === "dir" && node.subtree && (opts.enter?.(entry) ?? true)) {
      await enter(node.subtree, entry.path);
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
  repo: TreeSource,
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
