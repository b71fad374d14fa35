import { type MirrorEntry, type MirrorTarget, parentFile } from "../archiver/mod.ts";
import {
  type ContentSource,
  CorruptError,
  cycleError,
  fileContent,
  isSafeName,
  type Node,
  nsToDate,
  type SnapshotWithId,
  type Tree,
  WalkBudget,
} from "../repo/mod.ts";
import { mirrorBase } from "./base.ts";
import { holdsContent, MirrorFileWriter, retimeMirrorFile } from "./file_writer.ts";
import { readMarker } from "./marker.ts";
import type { MirrorDirState } from "./mirror_dir.ts";
import { type MirrorOptions, type MirrorResult, MirrorRun } from "./mirror_run.ts";

/**
 * What a mirror written from a stored snapshot reads: snapshots (the one
 * its marker names), trees, and file content ({@link ContentSource}).
 * `Repository` is one.
 */
export interface MirrorSource extends ContentSource {
  loadSnapshot(id: string): Promise<SnapshotWithId>;
  loadTree(id: string): Promise<Tree>;
}

/** How far a {@link mirrorSnapshot} has come: files looked at (written or found current) and their bytes. */
export interface MirrorProgress {
  files: number;
  bytes: number;
  /** Mirror files being written now. */
  writing: string[];
}

/** Files written from the repository at once. */
const PARALLEL_FILES = 8;

/**
 * Brings a mirror up to date from a snapshot already in the repository,
 * with the same rules as a backup's mirror: files whose size and mtime
 * match are left alone, others are streamed from the repository into a
 * temp file and renamed into place. When the mirror's marker names the
 * snapshot it last matched, a file it still holds in that version (same
 * size and mtime) whose blob ids equal the new version's only gets the new
 * times and mode: a tree unpacked again (every mtime new) costs no copy.
 */
export async function mirrorSnapshot(
  repo: MirrorSource,
  snapshot: SnapshotWithId,
  opts: MirrorOptions & {
    signal?: AbortSignal;
    maxEntries?: number;
    /** Called after each file is handed out (sample it; it is called often). */
    onProgress?: (p: MirrorProgress) => void;
  },
): Promise<MirrorResult> {
  const progress: MirrorProgress = { files: 0, bytes: 0, writing: [] };
  const writing = new Set<string>();
  const { baseNode, baseTree, base } = await mirrorBaseOf(repo, snapshot);
  const run = MirrorRun.open(opts, {
    job: snapshot.job,
    host: snapshot.host,
    time: new Date(snapshot.time),
    snapshot: snapshot.id,
  }, []);
  const inflight = new Set<Promise<void>>();
  try {
    const held = await heldBase(repo, run.path, snapshot, base);
    const write = async (node: Node, target: MirrorTarget) => {
      if (holdsContent(target, node.content ?? [])) {
        let warnings: string[] = [];
        if (run.tree.guard(target.path, () => (warnings = retimeMirrorFile(target)))) {
          run.tree.written(target, 0, undefined, true, warnings);
        }
        return;
      }
      while (inflight.size >= PARALLEL_FILES) await Promise.race(inflight);
      writing.add(target.path);
      const p = writeFile(repo, node, target, opts.signal).then(
        (r) => run.tree.written(target, r.bytes, undefined, false, r.warnings),
        (err) => run.tree.written(target, 0, (err as Error).message),
      ).finally(() => {
        inflight.delete(p);
        writing.delete(target.path);
      });
      inflight.add(p);
    };
    // An explicit stack (the trees choose the depth), an entry budget and a
    // cycle check, as every walk of stored trees has.
    const budget = new WalkBudget({ limit: opts.maxEntries, signal: opts.signal });
    const stack: {
      nodes: Node[];
      at: number;
      dir: MirrorDirState;
      treeId: string;
      was: Map<string, Node>;
    }[] = [];
    const onPath = new Set<string>();
    const enter = (tree: Tree, dir: MirrorDirState, treeId: string, old: Tree | undefined) => {
      if (onPath.has(treeId)) throw cycleError(treeId, dir.path);
      onPath.add(treeId);
      const was = new Map(old?.nodes.map((n) => [n.name, n]));
      stack.push({ nodes: tree.nodes, at: 0, dir, treeId, was });
    };
    const top = run.tree.root(baseNode && entryOf(baseNode), baseTree.nodes.map((n) => n.name));
    enter(baseTree, top, baseNode?.subtree ?? snapshot.tree, held);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1];
      const { dir, treeId, was } = frame;
      if (frame.at >= frame.nodes.length) {
        stack.pop();
        onPath.delete(treeId);
        dir.done();
        continue;
      }
      const node = frame.nodes[frame.at++];
      opts.signal?.throwIfAborted();
      const wait = budget.spend();
      if (wait) await wait;
      if (!isSafeName(node.name)) {
        throw new CorruptError(
          `Refusing to mirror: tree ${treeId} has an entry named ${
            JSON.stringify(node.name)
          }, which is not a single path component`,
        );
      }
      if (node.type === "dir") {
        if (onPath.has(node.subtree!)) throw cycleError(node.subtree!, dir.path);
        const sub = await repo.loadTree(node.subtree!);
        const child = dir.child(node.name, entryOf(node), sub.nodes.map((n) => n.name));
        const w = was.get(node.name);
        const oldSub = w?.type === "dir" && w.subtree !== node.subtree
          ? await repo.loadTree(w.subtree!)
          : undefined;
        if (child) enter(sub, child, node.subtree!, oldSub);
      } else if (node.type === "file") {
        const target = dir.file(node.name, entryOf(node), parentFile(was.get(node.name)));
        if (target) await write(node, target);
        progress.files++;
        progress.bytes += node.size ?? 0;
        if (opts.onProgress) {
          progress.writing = [...writing].slice(0, 2);
          opts.onProgress(progress);
        }
      } else if (node.type === "symlink") dir.symlink(node.name, node.target ?? "", entryOf(node));
    }
    await Promise.all(inflight);
  } catch (err) {
    // Files still being written finish first; then the lock goes, the folder stays for the next run.
    await Promise.allSettled(inflight);
    run.abandon();
    throw err;
  }
  return await run.finish(snapshot.id);
}

/** The tree standing for the mirror's top in `snapshot`: that of the deepest directory holding every source. */
async function mirrorBaseOf(repo: MirrorSource, snapshot: SnapshotWithId) {
  const root = await repo.loadTree(snapshot.tree);
  // Where each source is in the snapshot, to find the mirror's base directory.
  const nodes = new Map<string, Node | undefined>();
  for (const p of snapshot.paths) nodes.set(p, await findNode(repo, root, p));
  const base = mirrorBase(snapshot.paths, (p) => nodes.get(p)?.type === "dir");
  let baseNode: Node | undefined;
  let baseTree = root;
  for (const name of base.split("/").filter((s) => s !== "")) {
    baseNode = baseTree.nodes.find((n) => n.name === name && n.type === "dir");
    if (!baseNode) throw new CorruptError(`Snapshot ${snapshot.id} has no directory ${base}`);
    baseTree = await repo.loadTree(baseNode.subtree!);
  }
  return { base, baseNode, baseTree };
}

/**
 * The base tree of the snapshot the mirror at `dir` last matched, as its
 * marker says, when that is another snapshot of the same base in this
 * repository; otherwise undefined (no shortcut, nothing else changes).
 */
async function heldBase(
  repo: MirrorSource,
  dir: string,
  snapshot: SnapshotWithId,
  base: string,
): Promise<Tree | undefined> {
  const marker = readMarker(dir);
  if (!marker || marker === "invalid" || !marker.snapshot || marker.snapshot === snapshot.id) {
    return undefined;
  }
  try {
    const held = await mirrorBaseOf(repo, await repo.loadSnapshot(marker.snapshot));
    return held.base === base ? held.baseTree : undefined;
  } catch {
    return undefined; // forgotten since, or another repository's
  }
}

async function writeFile(
  repo: MirrorSource,
  node: Node,
  target: MirrorTarget,
  signal?: AbortSignal,
): Promise<{ bytes: number; warnings: string[] }> {
  const w = new MirrorFileWriter(target);
  try {
    let written = 0;
    for await (const blob of fileContent(repo, node.content ?? [], { signal, size: node.size })) {
      w.write(blob);
      written += blob.length;
    }
    if (written !== node.size) {
      throw new CorruptError(`content is ${written} bytes, but the snapshot says ${node.size}`);
    }
    return { bytes: written, warnings: w.commit() };
  } catch (err) {
    w.abort();
    throw err;
  }
}

function entryOf(node: Node): MirrorEntry {
  const e: MirrorEntry = {
    size: node.size ?? 0,
    mtimeMs: nsToDate(node.mtime).getTime(),
    mtimeNs: node.mtime,
    mode: node.mode,
    uid: node.uid,
    gid: node.gid,
  };
  if (node.atime) {
    e.atimeMs = nsToDate(node.atime).getTime();
    e.atimeNs = node.atime;
  }
  if (node.type === "file" && node.links > 1) e.linkKey = `${node.dev}:${node.inode}`;
  if (node.xattrs?.length) e.xattrs = node.xattrs;
  if (node.flags) e.flags = node.flags;
  return e;
}

async function findNode(repo: MirrorSource, root: Tree, path: string): Promise<Node | undefined> {
  let tree = root;
  let node: Node | undefined;
  const parts = path.split("/").filter((s) => s !== "");
  for (let i = 0; i < parts.length; i++) {
    node = tree.nodes.find((n) => n.name === parts[i]);
    if (!node) return undefined;
    if (i < parts.length - 1) {
      if (node.type !== "dir") return undefined;
      tree = await repo.loadTree(node.subtree!);
    }
  }
  return node;
}
