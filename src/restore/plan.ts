import { cycleError, isSafeName, type Node, WalkBudget } from "../repo/mod.ts";
import { lstatOrNull } from "../fs/mod.ts";
import { keepsExisting, type Overwrite, type RestoreRepo } from "./restore.ts";

/** What a restore would do to a target, without touching it (`restore --dry-run`). */
export interface RestorePlan {
  /** Snapshot paths of files, links and special files that would be written. */
  write: string[];
  /** Those `--overwrite` would keep as they are. */
  keep: string[];
  /** Directories that would be created. */
  makeDirs: string[];
  /** Target paths `--delete` would remove (a directory with what is below it). */
  remove: string[];
}

/**
 * Walks the snapshot and the target side by side and says what
 * {@link restore} with the same `overwrite` and `delete` would do, reading
 * the target (lstat, readdir, readlink) and writing nothing. Without globs:
 * the whole snapshot.
 */
export async function planRestore(
  repo: RestoreRepo,
  snapshot: { tree: string },
  opts: { target: string; overwrite?: Overwrite; delete?: boolean; maxEntries?: number },
): Promise<RestorePlan> {
  const plan: RestorePlan = { write: [], keep: [], makeDirs: [], remove: [] };
  const mode = opts.overwrite ?? "always";
  const budget = new WalkBudget({ limit: opts.maxEntries });
  const stack: { tree: string; snapPath: string; exists: boolean; onPath: Set<string> }[] = [
    {
      tree: snapshot.tree,
      snapPath: "",
      exists: lstatOrNull(opts.target)?.isDirectory === true,
      onPath: new Set(),
    },
  ];
  while (stack.length > 0) {
    const { tree, snapPath, exists, onPath } = stack.pop()!;
    if (onPath.has(tree)) throw cycleError(tree, snapPath || "/");
    const nodes: Node[] = (await repo.loadTree(tree)).nodes;
    const dirFs = `${opts.target}${snapPath}`;
    for (const node of nodes) {
      const wait = budget.spend();
      if (wait) await wait;
      if (!isSafeName(node.name)) throw new Error(`tree ${tree} has an unsafe name`);
      const path = `${snapPath}/${node.name}`;
      const fsPath = `${opts.target}${path}`;
      if (node.type === "dir") {
        const st = exists ? lstatOrNull(fsPath) : null;
        if (!st?.isDirectory) plan.makeDirs.push(path);
        if (st && !st.isDirectory) plan.remove.push(fsPath);
        stack.push({
          tree: node.subtree!,
          snapPath: path,
          exists: st?.isDirectory === true,
          onPath: new Set([...onPath, tree]),
        });
      } else if (exists && keepsExisting(mode, fsPath, node)) plan.keep.push(path);
      else plan.write.push(path);
    }
    if (opts.delete && exists) {
      const names = new Set(nodes.map((n) => n.name));
      for (const e of Deno.readDirSync(dirFs)) {
        if (!names.has(e.name)) plan.remove.push(`${dirFs}/${e.name}`);
      }
    }
  }
  return plan;
}

/** What a whole snapshot tree holds, for a restore's progress totals. */
export interface TreeTotals {
  /** Regular files, and their bytes. */
  files: number;
  bytes: number;
  dirs: number;
  /** Symlinks and special files. */
  others: number;
}

/**
 * Counts the files, their bytes, the directories and the other entries
 * below `tree`, for the totals of an unfiltered {@link restore} or a mirror. Each
 * directory's tree is loaded once; `signal` stops the count.
 */
export async function countTree(
  repo: Pick<RestoreRepo, "loadTree">,
  tree: string,
  opts: { signal?: AbortSignal } = {},
): Promise<TreeTotals> {
  const totals: TreeTotals = { files: 0, bytes: 0, dirs: 0, others: 0 };
  const stack: { tree: string; onPath: Set<string> }[] = [{ tree, onPath: new Set() }];
  while (stack.length > 0) {
    opts.signal?.throwIfAborted();
    const { tree, onPath } = stack.pop()!;
    if (onPath.has(tree)) throw cycleError(tree, "/");
    for (const node of (await repo.loadTree(tree)).nodes) {
      if (node.type === "dir") {
        totals.dirs++;
        stack.push({ tree: node.subtree!, onPath: new Set([...onPath, tree]) });
      } else if (node.type === "file") {
        totals.files++;
        totals.bytes += node.size ?? 0;
      } else totals.others++;
    }
  }
  return totals;
}
