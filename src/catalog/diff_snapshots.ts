import type { Node, Repository, Snapshot } from "../repo/mod.ts";
import { joinPath, walkSnapshot } from "./walk_snapshot.ts";

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
  repo: Repository,
  a: Pick<Snapshot, "tree">,
  b: Pick<Snapshot, "tree">,
  opts: DiffOptions = {},
): Promise<DiffEntry[]> {
  const out: DiffEntry[] = [];
  await diffTrees(repo, a.tree, b.tree, "/", out, opts);
  return out;
}

async function diffTrees(
  repo: Repository,
  idA: string,
  idB: string,
  prefix: string,
  out: DiffEntry[],
  opts: DiffOptions,
): Promise<void> {
  if (idA === idB) return;
  opts.signal?.throwIfAborted();
  const [ta, tb] = await Promise.all([repo.loadTree(idA), repo.loadTree(idB)]);
  const byName = new Map<string, [Node | undefined, Node | undefined]>();
  for (const n of ta.nodes) byName.set(n.name, [n, undefined]);
  for (const n of tb.nodes) byName.set(n.name, [byName.get(n.name)?.[0], n]);
  const names = [...byName.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  for (const name of names) {
    const [na, nb] = byName.get(name)!;
    const path = joinPath(prefix, name);
    if (!na) await listAll(repo, nb!, path, "added", out, opts);
    else if (!nb) await listAll(repo, na, path, "removed", out, opts);
    else if (na.type !== nb.type) {
      out.push({ path, change: "modified", details: ["type"], before: na, after: nb });
      if (na.type === "dir") await listBelow(repo, na, path, "removed", out, opts);
      if (nb.type === "dir") await listBelow(repo, nb, path, "added", out, opts);
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
      if (na.type === "dir") await diffTrees(repo, na.subtree!, nb.subtree!, path, out, opts);
    }
  }
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

async function listAll(
  repo: Repository,
  node: Node,
  path: string,
  change: "added" | "removed",
  out: DiffEntry[],
  opts: DiffOptions,
): Promise<void> {
  out.push(wholeEntry(path, node, change));
  await listBelow(repo, node, path, change, out, opts);
}

async function listBelow(
  repo: Repository,
  node: Node,
  path: string,
  change: "added" | "removed",
  out: DiffEntry[],
  opts: DiffOptions,
): Promise<void> {
  if (node.type !== "dir" || !node.subtree) return;
  for await (const e of walkSnapshot(repo, node.subtree, { prefix: path, signal: opts.signal })) {
    out.push(wholeEntry(e.path, e.node, change));
  }
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
