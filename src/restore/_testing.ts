/**
 * Test helpers: a fast-KDF repository in a temp dir, backups of fixture
 * trees, and snapshots built from hand-written (possibly hostile) trees.
 */
import { backup } from "../archiver/mod.ts";
import { LocalBackend } from "../backend/mod.ts";
import { keyedId, toHex, utf8 } from "../crypto/mod.ts";
import { type PackInfo, Repository, saveIndexFile, type SnapshotWithId } from "../repo/mod.ts";

/** A new repository under a new temp dir; `dir` is the temp dir (repo in `dir/repo`). */
export async function tempRepo(): Promise<{ dir: string; repo: Repository }> {
  const dir = await Deno.makeTempDir({ prefix: "cairn-restore-" });
  const backend = await LocalBackend.create(`${dir}/repo`);
  const repo = await Repository.init(backend, "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  return { dir, repo };
}

/** Backs up `paths` and returns the snapshot. */
export async function snap(repo: Repository, paths: string[]): Promise<SnapshotWithId> {
  const r = await backup(repo, { paths, host: "h", workers: 1 });
  return { ...r.snapshot, id: r.id };
}

/**
 * Stores blobs written by hand (trees may be hostile: nothing is validated),
 * indexes them and saves a snapshot of `rootTree`. Returns blob ids by key.
 */
export async function handMadeSnapshot(
  repo: Repository,
  build: (put: (type: "data" | "tree", bytes: Uint8Array) => string) => string,
): Promise<SnapshotWithId> {
  const packs: PackInfo[] = [];
  const writer = repo.newPackWriter((p) => {
    packs.push(p);
    repo.index.addPack(p);
  });
  const root = build((type, bytes) => {
    const id = toHex(keyedId(repo.master.id, bytes));
    writer.add(type, id, bytes);
    return id;
  });
  await writer.flush();
  await saveIndexFile(repo.backend, repo.master.enc, packs);
  const snapshot = {
    time: new Date().toISOString(),
    tree: root,
    paths: ["/x"],
    host: "h",
    username: "u",
    tags: [],
    program_version: "test",
  };
  const id = await repo.saveSnapshot(snapshot);
  return { ...snapshot, id };
}

/** A tree blob's bytes from raw nodes. */
export function treeBytes(nodes: unknown[]): Uint8Array {
  return utf8(JSON.stringify({ nodes }));
}

/** Every entry under `dir` (relative path → lstat), without following links. */
export function listAll(dir: string, rel = ""): Map<string, Deno.FileInfo> {
  const out = new Map<string, Deno.FileInfo>();
  for (const e of Deno.readDirSync(dir + rel)) {
    const p = `${rel}/${e.name}`;
    const st = Deno.lstatSync(dir + p);
    out.set(p, st);
    if (st.isDirectory) { for (const [k, v] of listAll(dir, p)) out.set(k, v); }
  }
  return out;
}
