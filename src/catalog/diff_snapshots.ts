import { cycleError, type Node, type Snapshot, WalkBudget } from "../repo/mod.ts";
import { joinPath, type TreeSource, walkSnapshot } from "./walk_snapshot.ts";

/** How an entry differs between two snapshots. */
export type ChangeKind = "added" | "removed" | "modified" | "metadata";

/** One difference, by path. `details` names what changed (`content`, `mode`, `mtime`…). */
export interface DiffEntry {
  path: string;
  change: ChangeKind;
  details: string[];
  /** The entry in the first snapshot (absent when added). */
  before?: Node;
  /** The entry in the second snapshot (absent when removed). */
  after?: Node;
}

export interface DiffOptions {
  /** Entries compared or listed before the diff stops (default: 50 million, `CAIRN_MAX_ENTRIES`). */
  maxEntries?: number;
  signal?: AbortSignal;
}

/** Counts of each kind of change. */
export function diffSummary(entries: readonly DiffEntry[]): Record<ChangeKind, number> {
  const out = { added: 0, removed: 0, modified: 0, metadata: 0 };
  for (const e of entries) out[e.change]++;
  return out;
}

/**
 * What changed from snapshot `a` to snapshot `b`, in path order. Subtrees
 * with the same id are identical and skipped without being read, so the
 * cost follows the size of the change, not of the snapshots. An added or
 * removed directory is listed with everything below it.
 */
export async function diffSnapshots(
  repo: TreeSource,
  a: Pick<Snapshot, "tree">,
  b: Pick<Snapshot, "tree">,
  opts: DiffOptions = {},
): Promise<DiffEntry[]> {
  const out: DiffEntry[] = [];
  const budget = new WalkBudget({ limit: opts.maxEntries, signal: opts.signal });
  const listBelow = async (node: Node, path: string, change: "added" | "removed") => {
    if (node.type !== "dir" || !node.subtree) return;
    for await (const e of walkSnapshot(repo, node.subtree, { prefix: path, budget })) {
      out.push(wholeEntry(e.path, e.node, change));
    }
  };
  // An explicit stack of tree pairs: the trees choose the depth.
  const stack: {
    key: string;
    prefix: string;
    names: string[];
    byName: Map<string, [Node | undefined, Node | undefined]>;
    at: number;
  }[] = [];
  const onPath = new Set<string>();
  const enter = async (idA: string, idB: string, prefix: string) => {
    if (idA === idB) return;
    const key = `${idA}:${idB}`;
    if (onPath.has(key)) throw cycleError(idA, prefix);
    const [ta, tb] = await Promise.all([repo.loadTree(idA), repo.loadTree(idB)]);
    const byName = new Map<string, [Node | undefined, Node | undefined]>();
    for (const n of ta.nodes) byName.set(n.name, [n, undefined]);
    for (const n of tb.nodes) byName.set(n.name, [byName.get(n.name)?.[0], n]);
    const names = [...byName.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    onPath.add(key);
    stack.push({ key, prefix, names, byName, at: 0 });
  };
  await enter(a.tree, b.tree, "/");
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.at >= top.names.length) {
      stack.pop();
      onPath.delete(top.key);
      continue;
    }
    const name = top.names[top.at++];
    const wait = budget.spend();
    if (wait) await wait;
    const [na, nb] = top.byName.get(name)!;
    const path = joinPath(top.prefix, name);
    if (!na || !nb) {
      const change = na ? "removed" : "added";
      out.push(wholeEntry(path, (na ?? nb)!, change));
      await listBelow((na ?? nb)!, path, change);
    } else if (na.type !== nb.type) {
      out.push({ path, change: "modified", details: ["type"], before: na, after: nb });
      await listBelow(na, path, "removed");
      await listBelow(nb, path, "added");
    } else {
      const content = contentChanges(na, nb);
      const meta = metadataChanges(na, nb);
      if (content.length > 0) {
        out.push({
          path,
          change: "modified",
          details: [...content, ...meta],
          before: na,
          after: nb,
        });
      } else if (meta.length > 0) {
        out.push({ path, change: "metadata", details: meta, before: na, after: nb });
      }
      if (na.type === "dir") await enter(na.subtree!, nb.subtree!, path);
    }
  }
  return out;
}

/** What about an entry's data differs: file content, link target, device number. */
function contentChanges(a: Node, b: Node): string[] {
  const out: string[] = [];
  if (a.type === "file") {
    if (a.size !== b.size) out.push("size");
    const ca = a.content ?? [];
    const cb = b.content ?? [];
    if (ca.length !== cb.length || ca.some((id, i) => id !== cb[i])) out.push("content");
  }
  if (a.type === "symlink" && a.target !== b.target) out.push("target");
  if ((a.type === "chardev" || a.type === "blockdev") && a.rdev !== b.rdev) out.push("rdev");
  return out;
}

/** Which metadata differ. ctime, inode and device are left out: they change on every copy. */
function metadataChanges(a: Node, b: Node): string[] {
  const fields = ["mode", "uid", "gid", "mtime"] as const;
  return fields.filter((f) => a[f] !== b[f]);
}

/** The entry of a path that exists on one side only. */
function wholeEntry(path: string, node: Node, change: "added" | "removed"): DiffEntry {
  return {
    path,
    change,
    details: [],
    ...(change === "added" ? { after: node } : { before: node }),
  };
}
