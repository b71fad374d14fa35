import { MemoryBackend } from "../backend/mod.ts";
import { concatBytes } from "../fs/mod.ts";
import { keyedId, toHex } from "../crypto/mod.ts";
import { assert, assertEquals, assertNotEquals, assertRejects } from "../testing/asserts.ts";
import { randomBytes } from "./_prune_testing.ts";
import { checkRepository } from "./check.ts";
import { copySnapshots, sameBlobIds, sameChunking } from "./copy.ts";
import { saveIndexFile } from "./index.ts";
import type { PackInfo } from "./pack.ts";
import { Repository } from "./repository.ts";
import type { SnapshotWithId } from "./snapshot.ts";
import { encodeTree, type Node, type Tree } from "./tree.ts";

const KDF = { memoryKiB: 8 * 1024, iterations: 1, parallelism: 1 };
const CHUNKS = { min: 4096, avg: 16384, max: 65536 };

function node(name: string, extra: Partial<Node>): Node {
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: "0",
    ctime: "0",
    inode: 0,
    dev: 0,
    links: 1,
    ...extra,
  };
}

/** A source repository with one snapshot: `f` (two blobs), `d/g` (f's first blob) and a symlink. */
async function sourceRepo() {
  const repo = await Repository.init(new MemoryBackend(), "src", { kdf: KDF, chunker: CHUNKS });
  const packs: PackInfo[] = [];
  const w = repo.newPackWriter((p) => {
    packs.push(p);
    repo.index.addPack(p);
  });
  const put = (type: "data" | "tree", bytes: Uint8Array) => {
    const id = toHex(keyedId(repo.master.id, bytes));
    if (!repo.index.has(id)) w.add(type, id, bytes);
    return id;
  };
  const a = randomBytes(60_000);
  const b = randomBytes(30_000);
  const sub: Tree = { nodes: [node("g", { size: a.length, content: [put("data", a)] })] };
  const root: Tree = {
    nodes: [
      node("d", { type: "dir", subtree: put("tree", encodeTree(sub)) }),
      node("f", { size: a.length + b.length, content: [put("data", a), put("data", b)] }),
      node("l", { type: "symlink", target: "f" }),
    ],
  };
  const tree = put("tree", encodeTree(root));
  await w.flush();
  await saveIndexFile(repo.backend, repo.master.enc, packs);
  const snap = {
    time: new Date().toISOString(),
    tree,
    paths: ["/x"],
    host: "h",
    username: "u",
    tags: [],
    program_version: "test",
  };
  const id = await repo.saveSnapshot(snap);
  return { repo, files: { f: concatBytes([a, b]), g: a }, snapshot: { ...snap, id } };
}

/** The bytes of file `path` (e.g. "d/g") in `snapshot` of `repo`. */
async function readFile(repo: Repository, snapshot: SnapshotWithId, path: string) {
  let tree = await repo.loadTree(snapshot.tree);
  const parts = path.split("/");
  for (const dir of parts.slice(0, -1)) {
    tree = await repo.loadTree(tree.nodes.find((n) => n.name === dir)!.subtree!);
  }
  const file = tree.nodes.find((n) => n.name === parts[parts.length - 1])!;
  return concatBytes(await Promise.all(file.content!.map((id) => repo.loadBlob("data", id))));
}

async function assertClean(repo: Repository) {
  const r = await checkRepository(repo, { readData: true });
  assertEquals(r.errors, []);
}

Deno.test("copySnapshots() re-chunks into a repository of other secrets, and skips it when rerun", async () => {
  const { repo: src, files, snapshot } = await sourceRepo();
  const dst = await Repository.init(new MemoryBackend(), "dst", { kdf: KDF, chunker: CHUNKS });
  assert(!sameBlobIds(src, dst));
  const first = await copySnapshots(src, dst, [snapshot]);
  assertEquals([first.snapshots_copied, first.rechunked], [1, true]);
  const [copy] = await dst.listSnapshots();
  assertEquals(copy.original, snapshot.id);
  assertNotEquals(copy.tree, snapshot.tree);
  assertEquals(await readFile(dst, copy, "f"), files.f);
  assertEquals(await readFile(dst, copy, "d/g"), files.g);
  await assertClean(dst);
  const again = await copySnapshots(src, dst, [snapshot]);
  assertEquals([again.snapshots_copied, again.snapshots_skipped, again.blobs_copied], [0, 1, 0]);
  // A copy of the copy names the first original, so it is recognised back at the source.
  const back = await copySnapshots(dst, src, [copy]);
  assertEquals([back.snapshots_copied, back.snapshots_skipped], [0, 1]);
});

Deno.test("copySnapshots() keeps ids between repositories of the same chunker secrets", async () => {
  const { repo: src, files, snapshot } = await sourceRepo();
  const dst = await Repository.init(new MemoryBackend(), "dst", { kdf: KDF, chunksLike: src });
  assert(sameChunking(src, dst));
  assertNotEquals(toHex(dst.master.enc), toHex(src.master.enc));
  const r = await copySnapshots(src, dst, [snapshot]);
  // The shared blob of f and d/g is stored once: three data blobs and two trees.
  assertEquals([r.snapshots_copied, r.rechunked, r.blobs_copied], [1, false, 4]);
  const [copy] = await dst.listSnapshots();
  assertEquals(copy.tree, snapshot.tree);
  assertEquals(await readFile(dst, copy, "f"), files.f);
  await assertClean(dst);
});

Deno.test("copySnapshots() stops when aborted and writes no snapshot", async () => {
  const { repo: src, snapshot } = await sourceRepo();
  const dst = await Repository.init(new MemoryBackend(), "dst", { kdf: KDF });
  const stop = new AbortController();
  stop.abort();
  await assertRejects(() => copySnapshots(src, dst, [snapshot], { signal: stop.signal }));
  assertEquals(await dst.listSnapshots(), []);
});

Deno.test("copySnapshots() takes only the blobs of a source segment the destination lacks", async () => {
  const { repo: src, files, snapshot } = await sourceRepo();
  const dst = await Repository.init(new MemoryBackend(), "dst", { kdf: KDF, chunksLike: src });
  // The destination holds f's second blob already; f's two blobs share one source segment.
  const f = (await src.loadTree(snapshot.tree)).nodes.find((n) => n.name === "f")!;
  const second = f.content![1];
  const packs: PackInfo[] = [];
  const w = dst.newPackWriter((p) => void packs.push(p));
  w.add("data", second, await src.loadBlob("data", second));
  await w.flush();
  await saveIndexFile(dst.backend, dst.master.enc, packs);
  await dst.reloadIndex();
  const r = await copySnapshots(src, dst, [snapshot]);
  // f's first blob (g's too) and the two trees: not the blob it had.
  assertEquals(r.blobs_copied, 3);
  const [copy] = await dst.listSnapshots();
  assertEquals(await readFile(dst, copy, "f"), files.f);
  await assertClean(dst);
});
