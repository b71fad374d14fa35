/**
 * The parent snapshot's trees, loaded ahead of the walk that compares each
 * directory with them.
 *
 * @module
 */
import type { MasterIndex, Node, Tree } from "../repo/mod.ts";

/** Subdirectories whose parent-snapshot trees are loaded ahead of the walk. */
export const PREFETCH_TREES = 8;
/** Subdirectory trees a loaded parent tree starts loading. */
export const PREFETCH_CHILDREN = 4;
/** The most trees loaded ahead and not yet asked for. */
const TREE_CACHE_LIMIT = 256;

/** A parent-snapshot tree's nodes by name, with the tree's id. */
export type ParentTree = Map<string, Node> & { id?: string };
const NO_PARENT: ParentTree = new Map();

/** What parent trees are read from: the index (to skip trees it lacks) and trees. */
export interface ParentTreeSource {
  readonly index: Pick<MasterIndex, "has">;
  loadTree(id: string): Promise<Tree>;
}

/** Loads parent-snapshot trees, starting on their first subdirectories' trees too. */
export class ParentTrees {
  readonly #cache = new Map<string, Promise<ParentTree>>();

  /**
   * @param onUnreadable told once per parent tree that cannot be loaded (a
   *   damaged pack, or a snapshot written by an older cairn that `check`
   *   rejects): that directory is compared with nothing and read again, so a
   *   bad parent costs time, never a backup.
   * @param children subdirectory trees a loaded tree starts loading, unless
   *   {@link nodes} is told otherwise (none when a directory cache will
   *   likely make them unneeded).
   */
  constructor(
    private readonly repo: ParentTreeSource,
    private readonly onUnreadable?: (treeId: string, err: Error) => void,
    private readonly children = PREFETCH_CHILDREN,
  ) {}

  /**
   * The nodes of a parent-snapshot tree, by name (none for no tree, or one
   * the index lacks). Loading one also starts loading its first
   * subdirectories' trees, up to a bounded number held at once, so the
   * depth-first walk finds most trees already decrypted.
   */
  nodes(treeId: string | undefined, children = this.children): Promise<ParentTree> {
    if (!treeId || !this.repo.index.has(treeId)) return Promise.resolve(NO_PARENT);
    const cached = this.#cache.get(treeId);
    if (cached) {
      this.#cache.delete(treeId);
      return cached;
    }
    return this.#load(treeId, children);
  }

  async #load(treeId: string, children: number): Promise<ParentTree> {
    let tree;
    try {
      tree = await this.repo.loadTree(treeId);
    } catch (err) {
      this.onUnreadable?.(treeId, err as Error);
      return NO_PARENT;
    }
    const nodes = new Map<string, Node>();
    for (const n of tree.nodes) nodes.set(n.name, n);
    let started = 0;
    for (const n of tree.nodes) {
      if (started >= children || this.#cache.size >= TREE_CACHE_LIMIT) break;
      if (n.type !== "dir" || !n.subtree || this.#cache.has(n.subtree)) continue;
      if (!this.repo.index.has(n.subtree)) continue;
      this.#cache.set(n.subtree, this.#load(n.subtree, children));
      started++;
    }
    return Object.assign(nodes, { id: treeId });
  }
}

/** Do two nodes record the same entry, field for field? */
export function sameNode(a: Node, b: Node | undefined): boolean {
  if (!b) return false;
  for (const k of NODE_FIELDS) if (a[k] !== b[k]) return false;
  if (a.xattrs !== b.xattrs && JSON.stringify(a.xattrs) !== JSON.stringify(b.xattrs)) return false;
  if (a.content === b.content) return true;
  if (!a.content || !b.content || a.content.length !== b.content.length) return false;
  return a.content.every((id, i) => id === b.content![i]);
}

const NODE_FIELDS = [
  "name",
  "type",
  "mode",
  "uid",
  "gid",
  "mtime",
  "ctime",
  "atime",
  "inode",
  "dev",
  "links",
  "size",
  "subtree",
  "target",
  "rdev",
  "flags",
] as const satisfies readonly (keyof Node)[];
