import type { Backend, FileStat } from "../backend/mod.ts";
import { sha256, toHex } from "../crypto/mod.ts";
import { forEachBlob } from "./blob_codec.ts";
import type { MasterKey } from "../crypto/mod.ts";
import { loadIndexFile, mapLimit, MasterIndex } from "./index.ts";
import { PACK_HEADER_SIZE, type PackedBlob, packKey, readPackTrailer } from "./pack.ts";
import { type OpenOptions, Repository } from "./repository.ts";
import type { SnapshotWithId } from "./snapshot.ts";
import type { Tree } from "./tree.ts";

/** One problem, naming the damaged object (e.g. `pack 3fa2…`, `data blob 9c1e…`). */
export interface CheckIssue {
  object: string;
  message: string;
}

export interface CheckStats {
  indexFiles: number;
  packs: number;
  unindexedPacks: number;
  snapshots: number;
  trees: number;
  dataBlobs: number;
  /** With `readData`: blobs decrypted and re-hashed, and pack bytes read. */
  blobsRead: number;
  bytesRead: number;
}

export interface CheckResult {
  errors: CheckIssue[];
  warnings: CheckIssue[];
  stats: CheckStats;
}

/** Which step a check is in, and how far along. */
export interface CheckProgress {
  phase: "index" | "packs" | "snapshots" | "trees" | "data";
  done: number;
  total: number;
  /** In the data phase: the bytes of the packs read so far, and of all to read. */
  bytes?: number;
  bytesTotal?: number;
}

export interface CheckOptions {
  /** Also decrypt and re-hash every blob of every pack. */
  readData?: boolean;
  /** With `readData`, read only these packs (see {@link selectPacks}). */
  readDataSubset?: DataSubset;
  onProgress?: (p: CheckProgress) => void;
  signal?: AbortSignal;
}

/** A pack as the index files describe it. */
interface IndexedPack {
  salt: Uint8Array;
  blobs: PackedBlob[];
  indexFile: string;
}

/** Bytes a pack needs after its last blob: the smallest sealed trailer and its length. */
const TRAILER_MIN = 28 + 4;

/**
 * Opens a repository without loading its index, so that {@link checkRepository}
 * can report a damaged index file instead of failing to open at all.
 */
export async function openRepositoryForCheck(
  backend: Backend,
  password: string,
  opts: OpenOptions = {},
): Promise<Repository> {
  let hideIndex = true;
  const view: Backend = {
    location: backend.location,
    save: (t, n, d, o) => backend.save(t, n, d, o),
    load: (t, n, r, o) => backend.load(t, n, r, o),
    stat: (t, n, o) => backend.stat(t, n, o),
    remove: (t, n, o) => backend.remove(t, n, o),
    close: () => backend.close(),
    list: (t, o) => (hideIndex && t === "index" ? (async function* () {})() : backend.list(t, o)),
  };
  if (backend.listTemporary) view.listTemporary = (o) => backend.listTemporary!(o);
  if (backend.removeTemporary) view.removeTemporary = (n, o) => backend.removeTemporary!(n, o);
  const repo = await Repository.open(view, password, opts);
  hideIndex = false;
  return repo;
}

/**
 * What check needs of a repository: storage, the keys, snapshots and trees,
 * and the loaded index with the header fallback, both of which check
 * replaces (see {@link checkRepository}). `Repository` is one.
 */
export interface CheckRepo {
  readonly backend: Backend;
  readonly master: Pick<MasterKey, "enc" | "id">;
  /**
   * Replaced by the index check builds from the files that load;
   * {@link loadTree} must read through whatever `index` holds then.
   */
  index: MasterIndex;
  /** Turned off: a blob only an unindexed pack holds is an error to report. */
  readPackHeaders: boolean;
  loadSnapshot(id: string): Promise<SnapshotWithId>;
  loadTree(id: string): Promise<Tree>;
}

/**
 * Checks a repository the way its data depends on itself: index files load;
 * every pack they name exists, is big enough and its trailer agrees; every
 * snapshot file authenticates under its name; every tree reachable from a
 * snapshot loads; every data blob a file needs is indexed. With `readData`,
 * every pack is read whole and each blob decrypted and re-hashed.
 *
 * Replaces `repo.index` with one built from the index files that load, so a
 * damaged index file is reported rather than fatal.
 */
export async function checkRepository(
  repo: CheckRepo,
  opts: CheckOptions = {},
): Promise<CheckResult> {
  const errors: CheckIssue[] = [];
  const warnings: CheckIssue[] = [];
  const stats: CheckStats = {
    indexFiles: 0,
    packs: 0,
    unindexedPacks: 0,
    snapshots: 0,
    trees: 0,
    dataBlobs: 0,
    blobsRead: 0,
    bytesRead: 0,
  };
  const { backend } = repo;
  const signal = opts.signal;
  const error = (object: string, message: string) => errors.push({ object, message });
  const msg = (err: unknown) => (err instanceof Error ? err.message : String(err));
  const progress = (phase: CheckProgress["phase"], done: number, total: number) =>
    opts.onProgress?.({ phase, done, total });

  // Index files, tolerating damaged ones.
  const indexNames = await names(backend, "index", signal);
  const loaded = await mapLimit(indexNames, 8, async (name, i) => {
    signal?.throwIfAborted();
    try {
      return await loadIndexFile(backend, repo.master.enc, name);
    } catch (err) {
      error(`index file ${name}`, `cannot be loaded: ${msg(err)}`);
      return undefined;
    } finally {
      progress("index", i + 1, indexNames.length);
    }
  });
  const superseded = new Set(loaded.flatMap((f) => f?.supersedes ?? []));
  const index = new MasterIndex();
  const packs = new Map<string, IndexedPack>();
  // Packs prune took out of the index but has not deleted: a snapshot a
  // backup wrote meanwhile may still read from them, as restore does.
  const dropped = new Set<string>();
  loaded.forEach((file, i) => {
    if (!file || superseded.has(indexNames[i])) return;
    stats.indexFiles++;
    for (const p of file.packs) {
      index.addPack(p);
      const known = packs.get(p.name);
      if (known) known.blobs.push(...p.blobs);
      else packs.set(p.name, { salt: p.salt, blobs: [...p.blobs], indexFile: indexNames[i] });
    }
  });
  for (const [i, file] of loaded.entries()) {
    if (!file || superseded.has(indexNames[i])) continue;
    for (const p of file.dropped) {
      if (packs.has(p.name)) continue;
      index.addDroppedPack(p);
      dropped.add(p.name);
    }
  }
  repo.index = index;
  repo.readPackHeaders = false; // a blob only an unindexed pack holds is an error to report

  // Packs: present, plausible size, trailer agrees with the index.
  const stored = new Map<string, FileStat>();
  for await (const f of backend.list("data", { signal })) stored.set(f.name, f);
  stats.packs = packs.size;
  let packsDone = 0;
  await mapLimit([...packs], 8, async ([name, pack]) => {
    signal?.throwIfAborted();
    const what = `pack ${name}`;
    try {
      const file = stored.get(name);
      if (!file) {
        return error(
          what,
          `is missing (index file ${pack.indexFile} lists ${pack.blobs.length} blob(s) in it)`,
        );
      }
      const need = Math.max(PACK_HEADER_SIZE, ...pack.blobs.map((b) => b.offset + b.length)) +
        TRAILER_MIN;
      if (file.size < need) {
        return error(
          what,
          `is ${file.size} bytes, too small for the blobs the index places in it (at least ${need}); truncated?`,
        );
      }
      let trailer;
      try {
        trailer = await readPackTrailer(backend, repo.master.enc, name);
      } catch (err) {
        return error(what, `trailer cannot be read: ${msg(err)}`);
      }
      const inTrailer = new Map(trailer.blobs.map((b) => [b.id, b]));
      for (const b of pack.blobs) {
        const t = inTrailer.get(b.id);
        if (
          !t || t.type !== b.type || t.offset !== b.offset || t.length !== b.length ||
          t.at !== b.at || t.rawLength !== b.rawLength
        ) {
          return error(
            what,
            `trailer does not list ${b.type} blob ${b.id} where the index says it is`,
          );
        }
      }
    } finally {
      progress("packs", ++packsDone, packs.size);
    }
  });
  for (const name of stored.keys()) {
    if (!packs.has(name) && !dropped.has(name)) {
      stats.unindexedPacks++;
      warnings.push({
        object: `pack ${name}`,
        message: "is not in the index (left by an interrupted backup; prune removes it)",
      });
    }
  }

  for await (const f of backend.listTemporary?.({ signal }) ?? []) {
    warnings.push({
      object: `temporary file ${f.name}`,
      message: "is left from an interrupted write (prune removes it once older than its grace)",
    });
  }

  // Snapshots, then every tree they reach, then the data blobs files need.
  const snapNames = await names(backend, "snapshots", signal);
  const snapshots: SnapshotWithId[] = [];
  for (const [i, name] of snapNames.entries()) {
    signal?.throwIfAborted();
    try {
      snapshots.push(await repo.loadSnapshot(name));
    } catch (err) {
      error(`snapshot ${name}`, `cannot be loaded: ${msg(err)}`);
    }
    progress("snapshots", i + 1, snapNames.length);
  }
  stats.snapshots = snapshots.length;

  const seenTrees = new Set<string>();
  const seenData = new Set<string>();
  let queue = snapshots
    .filter((s) => !seenTrees.has(s.tree) && seenTrees.add(s.tree))
    .map((s) => ({ id: s.tree, where: `root of snapshot ${s.id.slice(0, 8)}` }));
  while (queue.length > 0) {
    const next: typeof queue = [];
    await mapLimit(queue, 8, async ({ id, where }) => {
      signal?.throwIfAborted();
      let tree;
      try {
        tree = await repo.loadTree(id);
      } catch (err) {
        return error(`tree ${id}`, `cannot be loaded (reached at ${where}): ${msg(err)}`);
      }
      stats.trees++;
      for (const node of tree.nodes) {
        const path = where.startsWith("/") ? `${where}/${node.name}` : `/${node.name}`;
        if (node.type === "dir" && node.subtree && !seenTrees.has(node.subtree)) {
          seenTrees.add(node.subtree);
          next.push({ id: node.subtree, where: path });
        }
        for (const blob of node.content ?? []) {
          if (seenData.has(blob)) continue;
          seenData.add(blob);
          const entry = index.get(blob);
          if (!entry) error(`data blob ${blob}`, `is not in the index (needed by ${path})`);
          else if (entry.type !== "data") {
            error(`data blob ${blob}`, `is indexed as a ${entry.type} blob (needed by ${path})`);
          }
        }
      }
      progress("trees", stats.trees, seenTrees.size);
    });
    queue = next;
  }
  stats.dataBlobs = seenData.size;

  if (opts.readData) {
    let present = [...packs.keys()].filter((n) => stored.has(n)).sort();
    if (opts.readDataSubset) {
      present = selectPacks(present.map((n) => stored.get(n)!), opts.readDataSubset);
    }
    const bytesTotal = present.reduce((n, name) => n + stored.get(name)!.size, 0);
    const dataProgress = (done: number, total: number, bytes: number) =>
      opts.onProgress?.({ phase: "data", done, total, bytes, bytesTotal });
    await readAllData(repo, packs, present, stats, error, dataProgress, signal);
  }
  return { errors, warnings, stats };
}

import type { DataSubset } from "../text/mod.ts";
export { type DataSubset, parseDataSubset } from "../text/mod.ts";

/** The names of the packs of `all` that `subset` selects. */
export function selectPacks(
  all: readonly FileStat[],
  subset: DataSubset,
  random: () => number = Math.random,
): string[] {
  if (subset.kind === "part") {
    return all.filter((f) => parseInt(f.name.slice(0, 8), 16) % subset.m === subset.n - 1)
      .map((f) => f.name);
  }
  const shuffled = [...all];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  if (subset.kind === "share") {
    const count = Math.ceil(all.length * subset.fraction);
    return shuffled.slice(0, count).map((f) => f.name);
  }
  const out: string[] = [];
  let total = 0;
  for (const f of shuffled) {
    if (total + f.size > subset.bytes) continue;
    total += f.size;
    out.push(f.name);
  }
  return out;
}

/** Reads every pack whole once and opens each blob the index places in it. */
async function readAllData(
  repo: CheckRepo,
  packs: Map<string, IndexedPack>,
  present: readonly string[],
  stats: CheckStats,
  error: (object: string, message: string) => void,
  progress: (done: number, total: number, bytes: number) => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  // Packs whose trailer failed are read too: naming their damaged blobs is the point.
  const names = present;
  let done = 0;
  let bytesDone = 0;
  await mapLimit(names, 2, async (name) => {
    signal?.throwIfAborted();
    const pack = packs.get(name)!;
    let bytes: Uint8Array;
    try {
      bytes = await repo.backend.load("data", name, undefined, { signal });
    } catch (err) {
      progress(++done, names.length, bytesDone);
      return error(`pack ${name}`, `cannot be read: ${(err as Error).message}`);
    }
    stats.bytesRead += bytes.length;
    bytesDone += bytes.length;
    if (toHex(sha256(bytes)) !== name) {
      error(`pack ${name}`, "content does not match its name");
    }
    const key = await packKey(repo.master.enc, pack.salt);
    await forEachBlob(key, repo.master.id, bytes, pack.blobs, (b, plain) => {
      if (!(plain instanceof Error)) return void stats.blobsRead++;
      const object = `${b.type} blob ${b.id}`;
      const m = plain.message;
      error(
        object,
        `in pack ${name}: ${m.startsWith(`${object} `) ? m.slice(object.length + 1) : m}`,
      );
    });
    progress(++done, names.length, bytesDone);
  });
}

async function names(
  backend: Backend,
  type: "index" | "snapshots",
  signal?: AbortSignal,
): Promise<string[]> {
  const out: string[] = [];
  for await (const f of backend.list(type, { signal })) out.push(f.name);
  return out.sort();
}
