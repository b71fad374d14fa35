import { join } from "node:path";
import { type Backend, FaultBackend, InjectedFault, LocalBackend } from "../backend/mod.ts";
import { keyedId, toHex, utf8 } from "../crypto/mod.ts";
import {
  checkRepository,
  listLocks,
  type Node,
  type PackInfo,
  readPackTrailer,
  removeStaleLocks,
  Repository,
  saveIndexFile,
} from "../repo/mod.ts";
import { concatBytes } from "../fs/mod.ts";
import { rawNode } from "../testing/raw_node.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../testing/asserts.ts";
import { type ArchiverRepo, backup, INDEX_POLICY } from "./archiver.ts";
import { findParent } from "./parent.ts";

const FAST = { kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 } };

async function newRepo(opts = {}) {
  const dir = await Deno.makeTempDir({ prefix: "cairn-arch-" });
  const repo = await Repository.init(await LocalBackend.create(`${dir}/repo`), "pw", {
    ...FAST,
    ...opts,
  });
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  return { repo, src };
}

/** The nodes of the snapshot's copy of `src`, by name. */
async function sourceNodes(
  repo: Repository,
  treeId: string,
  src: string,
): Promise<Map<string, Node>> {
  let tree = await repo.loadTree(treeId);
  for (const part of src.split("/").filter(Boolean)) {
    tree = await repo.loadTree(tree.nodes.find((n) => n.name === part)!.subtree!);
  }
  return new Map(tree.nodes.map((n) => [n.name, n]));
}

function pseudoRandom(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

Deno.test("backup() needs only an ArchiverRepo, and a rerun through it stores nothing new", async () => {
  const { repo, src } = await newRepo();
  await Deno.writeFile(`${src}/a.bin`, pseudoRandom(300_000, 3));
  await Deno.writeTextFile(`${src}/b.txt`, "small\n");
  // Forwards only what ArchiverRepo names; the index is read live, as the
  // backup replaces it when it rereads the index under its lock.
  const narrow: ArchiverRepo = {
    backend: repo.backend,
    master: repo.master,
    config: repo.config,
    get index() {
      return repo.index;
    },
    get indexFiles() {
      return repo.indexFiles;
    },
    onWarning: (m) => repo.onWarning(m),
    refreshIndex: () => repo.refreshIndex(),
    reloadIndex: () => repo.reloadIndex(),
    assertIndexWhole: (what) => repo.assertIndexWhole(what),
    newPackWriter: (onPack) => repo.newPackWriter(onPack),
    saveSnapshot: (snapshot) => repo.saveSnapshot(snapshot),
    loadTree: (id) => repo.loadTree(id),
  };
  const first = await backup(narrow, { paths: [src], host: "h", workers: 1 });
  const nodes = await sourceNodes(repo, first.snapshot.tree, src);
  assertEquals([...nodes.keys()].sort(), ["a.bin", "b.txt"]);
  const parent = await findParent(repo, "h", [src]);
  const second = await backup(narrow, { paths: [src], host: "h", workers: 1, parent });
  assertEquals(second.snapshot.summary?.data_blobs, 0);
  assertEquals(second.snapshot.summary?.files_unmodified, 2);
  assertEquals((await checkRepository(await Repository.open(repo.backend, "pw"))).errors, []);
});

Deno.test("an insertion in the middle of a large file stores only the chunks around it", async () => {
  const { repo, src } = await newRepo({
    chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 },
  });
  const data = pseudoRandom(8 * 1024 * 1024, 42);
  await Deno.writeFile(`${src}/big.bin`, data);
  const first = await backup(repo, { paths: [src], host: "h", workers: 1 });
  const mid = data.length / 2;
  const edited = new Uint8Array(data.length + 100);
  edited.set(data.subarray(0, mid));
  edited.set(pseudoRandom(100, 7), mid);
  edited.set(data.subarray(mid), mid + 100);
  await Deno.writeFile(`${src}/big.bin`, edited);
  const parent = await findParent(repo, "h", [src]);
  const second = await backup(repo, { paths: [src], host: "h", workers: 1, parent });
  assertEquals(second.summary.files_changed, 1);
  const before = (await sourceNodes(repo, first.snapshot.tree, src)).get("big.bin")!.content!;
  const after = (await sourceNodes(repo, second.snapshot.tree, src)).get("big.bin")!.content!;
  const fresh = after.filter((id) => !before.includes(id));
  assert(before.length > 50, `expected many chunks, got ${before.length}`);
  assert(fresh.length <= 3, `${fresh.length} of ${after.length} chunks changed`);
  assert(
    second.summary.bytes_added < 1024 * 1024,
    `repository grew by ${second.summary.bytes_added}`,
  );
});

Deno.test("hard links, symlinks, fifos and empty directories are recorded", async () => {
  const { repo, src } = await newRepo();
  await Deno.writeTextFile(`${src}/orig`, "linked content");
  await Deno.link(`${src}/orig`, `${src}/link`);
  await Deno.symlink("/nowhere/at/all", `${src}/dangling`);
  await Deno.mkdir(`${src}/empty`);
  const fifo = await new Deno.Command("mkfifo", { args: [`${src}/pipe`] }).output();
  const r = await backup(repo, { paths: [src], host: "h", workers: 2 });
  assertEquals(r.errors, []);
  const nodes = await sourceNodes(repo, r.snapshot.tree, src);
  assertEquals(nodes.get("orig")!.inode, nodes.get("link")!.inode);
  assertEquals(nodes.get("orig")!.content, nodes.get("link")!.content);
  assertEquals(nodes.get("orig")!.links, 2);
  assertEquals(nodes.get("dangling")!.type, "symlink");
  assertEquals(nodes.get("dangling")!.target, "/nowhere/at/all");
  assertEquals((await repo.loadTree(nodes.get("empty")!.subtree!)).nodes, []);
  if (fifo.code === 0) assertEquals(nodes.get("pipe")!.type, "fifo");
  assertEquals(r.summary.files_new, 1, "the second name of a hard link is not read again");
});

Deno.test("exclude patterns and exclude-if-present markers leave entries out", async () => {
  const { repo, src } = await newRepo();
  await Deno.mkdir(`${src}/cache`);
  await Deno.writeTextFile(`${src}/cache/.nobackup`, "");
  await Deno.writeTextFile(`${src}/cache/junk`, "junk");
  await Deno.writeTextFile(`${src}/keep.txt`, "keep");
  await Deno.writeTextFile(`${src}/drop.tmp`, "drop");
  const r = await backup(repo, {
    paths: [src],
    host: "h",
    excludes: ["*.tmp"],
    excludeIfPresent: [".nobackup"],
  });
  assertEquals([...(await sourceNodes(repo, r.snapshot.tree, src)).keys()], ["keep.txt"]);
});

Deno.test("two sources with the same name are kept apart under their full paths", async () => {
  const { repo, src } = await newRepo();
  await Deno.mkdir(`${src}/a/data`, { recursive: true });
  await Deno.mkdir(`${src}/b/data`, { recursive: true });
  await Deno.writeTextFile(`${src}/a/data/f`, "from a");
  await Deno.writeTextFile(`${src}/b/data/f`, "from b");
  const r = await backup(repo, { paths: [`${src}/a/data`, `${src}/b/data`], host: "h" });
  for (const side of ["a", "b"]) {
    const f = (await sourceNodes(repo, r.snapshot.tree, `${src}/${side}/data`)).get("f")!;
    const bytes = await repo.loadBlob("data", f.content![0]);
    assertEquals(new TextDecoder().decode(bytes), `from ${side}`);
  }
});

Deno.test("a backup of / stores the listing of / as the root tree", async () => {
  const { repo } = await newRepo();
  // Keep it small: every top-level entry but /etc is excluded, and everything inside /etc.
  const excludes = [...Deno.readDirSync("/")].filter((e) => e.name !== "etc").map((e) =>
    `/${e.name}`
  );
  const r = await backup(repo, { paths: ["/"], excludes: [...excludes, "/etc/*"], host: "h" });
  assertEquals(r.errors, []);
  const root = await repo.loadTree(r.snapshot.tree);
  assertEquals(root.nodes.map((n) => [n.name, n.type]), [["etc", "dir"]]);
  assertEquals(r.snapshot.paths, ["/"]);
});

Deno.test("a directory above a source that is not a directory is reported, not stored", async () => {
  const { repo, src } = await newRepo();
  await Deno.writeTextFile(`${src}/plain`, "a file, not a directory");
  await Deno.writeTextFile(`${src}/kept`, "kept");
  const r = await backup(repo, { paths: [`${src}/plain/below`, `${src}/kept`], host: "h" });
  assertEquals(r.errors.map((e) => e.path), [`${src}/plain`]);
  assertEquals([...(await sourceNodes(repo, r.snapshot.tree, src)).keys()], ["kept"]);
});

Deno.test("a parent snapshot whose tree cannot be read is warned about, and the files read again", async () => {
  const { repo, src } = await newRepo();
  await Deno.writeTextFile(`${src}/f`, "content");
  // What older versions wrote for a source below a symlinked directory: a
  // symlink node with a subtree, which every reader rejects.
  const bad = utf8(
    JSON.stringify({ nodes: [rawNode("tmp", "symlink", { subtree: "ab".repeat(32) })] }),
  );
  const badId = toHex(keyedId(repo.master.id, bad));
  const packs: PackInfo[] = [];
  const w = repo.newPackWriter((p) => void packs.push(p));
  w.add("tree", badId, bad);
  await w.flush();
  await saveIndexFile(repo.backend, repo.master.enc, packs);
  for (const p of packs) repo.index.addPack(p);
  const snapshot = {
    time: new Date().toISOString(),
    tree: badId,
    paths: [src],
    host: "h",
    username: "u",
    tags: [],
    program_version: "test",
  };
  const parent = { ...snapshot, id: await repo.saveSnapshot(snapshot) };
  const warnings: string[] = [];
  const r = await backup(repo, {
    paths: [src],
    host: "h",
    parent,
    onWarning: (m) => warnings.push(m),
  });
  assertEquals(r.errors, []);
  assertEquals(r.summary.files_new, 1);
  assertEquals(warnings.length, 1, warnings.join("\n"));
  assert(warnings[0].includes(`tree ${badId.slice(0, 8)} cannot be read`), warnings[0]);
  const f = (await sourceNodes(repo, r.snapshot.tree, src)).get("f")!;
  assertEquals(new TextDecoder().decode(await repo.loadBlob("data", f.content![0])), "content");
});

Deno.test("a backup without a parent reads every file again but stores no blob twice", async () => {
  const { repo, src } = await newRepo();
  await Deno.writeFile(`${src}/f`, pseudoRandom(300_000, 3));
  const first = await backup(repo, { paths: [src], host: "h", workers: 1 });
  const second = await backup(repo, { paths: [src], host: "h", workers: 1, parent: undefined });
  assertEquals(second.summary.files_new, 1, "no parent: the file is read again");
  assertEquals(second.summary.data_blobs, 0, "but its blobs are known, so none is stored");
  const nodes = async (r: typeof first) => (await sourceNodes(repo, r.snapshot.tree, src)).get("f");
  assertEquals(await nodes(second), await nodes(first));
});

Deno.test("files whose reading pauses for pack writes keep their bytes (two batches in flight)", async () => {
  // Small packs and many multi-chunk files: pack writes fall behind, reads
  // pause, and the worker's next batch must not reuse the paused file's buffer.
  const { repo, src } = await newRepo({
    chunker: { min: 4 * 1024, avg: 8 * 1024, max: 16 * 1024 },
    packSize: 16 * 1024,
  });
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < 120; i++) {
    const data = pseudoRandom(40 * 1024 + i * 97, i + 1);
    files.set(`f${i}`, data);
    await Deno.writeFile(`${src}/f${i}`, data);
  }
  const { snapshot } = await backup(repo, { paths: [src], host: "h", workers: 1 });
  const nodes = await sourceNodes(repo, snapshot.tree, src);
  for (const [name, data] of files) {
    const parts = await Promise.all(
      nodes.get(name)!.content!.map((id) => repo.loadBlob("data", id)),
    );
    const got = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) got.set(p, (at += p.length) - p.length);
    assertEquals(got, data, name);
  }
});

Deno.test("a backup whose every source is missing fails and writes no snapshot", async () => {
  const { repo, src } = await newRepo();
  let message = "";
  try {
    await backup(repo, { paths: [`${src}/gone`, `${src}/also-gone`], host: "h" });
  } catch (err) {
    message = (err as Error).message;
  }
  assert(message.startsWith("none of the sources can be read"), message);
  assert(message.includes(`${src}/also-gone`), message);
  assertEquals((await repo.listSnapshots()).length, 0);
});

// ---- Pack saves, failures and crashes ----

/**
 * A repository with 64 KiB packs and a source whose ten large files (each
 * a blob with a segment, so a pack, of its own) and thirty small ones make
 * a dozen packs.
 */
async function smallPackRepo() {
  const dir = await Deno.makeTempDir({ prefix: "cairn-crash-" });
  await LocalBackend.create(join(dir, "repo"));
  await Repository.init(new LocalBackend(join(dir, "repo")), "pw", {
    ...FAST,
    packSize: 64 * 1024,
  });
  const src = join(dir, "src");
  await Deno.mkdir(join(src, "sub"), { recursive: true });
  const files = new Map<string, Uint8Array>();
  for (let i = 0; i < 10; i++) {
    const path = join(src, i % 2 ? "sub" : "", `f${i}`);
    files.set(path, pseudoRandom(270_000 + i * 1000, i + 1));
    await Deno.writeFile(path, files.get(path)!);
  }
  for (let i = 0; i < 30; i++) {
    const path = join(src, `small${i}`);
    files.set(path, pseudoRandom(100 + i, 100 + i));
    await Deno.writeFile(path, files.get(path)!);
  }
  return { dir, repoDir: join(dir, "repo"), src, files };
}

/** Restores the latest snapshot by walking its trees and compares every file; runs check --read-data. */
async function verify(repoDir: string, files: Map<string, Uint8Array>): Promise<number> {
  const repo = await Repository.open(new LocalBackend(repoDir), "pw");
  const check = await checkRepository(repo, { readData: true });
  assertEquals(check.errors, [], "check --read-data finds no error");
  const snaps = await repo.listSnapshots();
  if (snaps.length === 0) return 0;
  const found = new Map<string, Uint8Array>();
  const walk = async (tree: string, path: string) => {
    for (const n of (await repo.loadTree(tree)).nodes) {
      const p = `${path}/${n.name}`;
      if (n.type === "dir") await walk(n.subtree!, p);
      else if (n.type === "file") {
        const parts = await Promise.all(n.content!.map((id) => repo.loadBlob("data", id)));
        const bytes = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
        parts.reduce((at, b) => (bytes.set(b, at), at + b.length), 0);
        found.set(p, bytes);
      }
    }
  };
  await walk(snaps[snaps.length - 1].tree, "");
  assertEquals(found, files, "the latest snapshot restores every file byte for byte");
  return snaps.length;
}

async function dataFiles(backend: Backend): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for await (const f of backend.list("data")) (count++, bytes += f.size);
  return { count, bytes };
}

Deno.test("every pack a backup's workers seal is saved through the repository's backend", async () => {
  const s = await smallPackRepo();
  const saved: string[] = [];
  const fault = new FaultBackend(new LocalBackend(s.repoDir), {
    hook: (op, type, name) => void (op === "save" && type === "data" && saved.push(name!)),
  });
  const r = await backup(await Repository.open(fault, "pw"), {
    paths: [s.src],
    host: "h",
    workers: 2,
  });
  const stored = [];
  for await (const f of fault.list("data")) stored.push(f.name);
  assert(stored.length > 4, `only ${stored.length} packs`);
  assertEquals(saved.sort(), stored.sort(), "each stored pack went through the wrapper once");
  assertEquals(r.summary.data_blobs, s.files.size);
  assertEquals(await verify(s.repoDir, s.files), 1);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("a full disk stops a backup with its one error, indexes what was stored, and leaves no lock", async () => {
  const s = await smallPackRepo();
  let dataSaves = 0;
  const fault = new FaultBackend(new LocalBackend(s.repoDir), {
    hook: (op, type, name) => {
      if (op !== "save" || type !== "data" || ++dataSaves <= 3) return undefined;
      return new Error(`Cannot save ${name}: No space left on device (os error 28)`);
    },
  });
  const repo = await Repository.open(fault, "pw");
  const err = await assertRejects(
    () => backup(repo, { paths: [s.src], host: "h", workers: 2 }),
    Error,
  );
  assertStringIncludes(err.message, "No space left on device");
  assert(!err.message.includes("\n"), "one line");
  assertEquals(await listLocks(repo), [], "the lock is released");
  assertEquals(await verify(s.repoDir, s.files), 0, "no snapshot, and check accepts the rest");
  const after = await Repository.open(new LocalBackend(s.repoDir), "pw");
  assert(after.index.size >= 3, "the packs stored before the failure are indexed");

  // Room again: a rerun stores only what is missing and completes.
  fault.heal();
  const rerun = await backup(await Repository.open(fault, "pw"), {
    paths: [s.src],
    host: "h",
    workers: 2,
  });
  assertEquals(rerun.summary.data_blobs, s.files.size - after.index.size);
  assertEquals(await verify(s.repoDir, s.files), 1);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("a backup killed at any write leaves a repository check accepts, and a rerun reuses what was indexed", async () => {
  const s = await smallPackRepo();
  const template = join(s.dir, "template");
  await Deno.rename(s.repoDir, template);
  const copy = async (to: string) => {
    const cp = await new Deno.Command("cp", { args: ["-a", template, to] }).output();
    assert(cp.success, "copied the empty repository");
    return to;
  };
  const opts = { paths: [s.src], host: "h", workers: 1 };
  // A clean run, counting its writes (saves and removes).
  const clean = new FaultBackend(new LocalBackend(await copy(join(s.dir, "clean"))));
  const full = await backup(await Repository.open(clean, "pw"), opts);
  const writes = clean.calls.save + clean.calls.remove;
  assert(writes >= 14, `only ${writes} writes`);

  let reused = 0;
  for (let k = 1; k <= writes; k++) {
    const at = await copy(join(s.dir, `crash${k}`));
    let n = 0;
    const fault = new FaultBackend(new LocalBackend(at), {
      // From the k-th write on nothing reaches storage, as if the process died there.
      hook: (op) =>
        (op === "save" || op === "remove") && ++n >= k
          ? new InjectedFault(`crash at write ${k}`)
          : undefined,
    });
    const repo = await Repository.open(fault, "pw");
    if (k === writes) {
      // The last write is the lock's removal: a failure there is a warning (the
      // lock expires by time), and the snapshot written before it stands.
      await backup(repo, opts);
      const left = await listLocks(await Repository.open(new LocalBackend(at), "pw"));
      assertEquals(left.length, 1, "the lock that could not be removed is left to expire");
    } else await assertRejects(() => backup(repo, opts), InjectedFault);
    const snapshots = await verify(at, s.files);
    assertEquals(snapshots, k === writes ? 1 : 0, `snapshots after a crash at write ${k}`);

    // What the crashed run indexed is not stored again; the rerun completes.
    // (Each file is one chunk. Trees are compared loosely: the ones of the
    // directories above the source, such as /tmp, change as others use them.)
    const plain = await Repository.open(new LocalBackend(at), "pw");
    const fileIds = [...s.files.values()].map((b) => toHex(keyedId(plain.master.id, b)));
    const indexed = fileIds.filter((id) => plain.index.has(id)).length;
    // Packs stored but not indexed are whole, and the rerun adopts them too.
    const inPacks = new Set<string>();
    for await (const f of plain.backend.list("data")) {
      for (const b of (await readPackTrailer(plain.backend, plain.master.enc, f.name)).blobs) {
        inPacks.add(b.id);
      }
    }
    const stored = fileIds.filter((id) => inPacks.has(id)).length;
    await removeStaleLocks(plain, { now: () => Date.now() + 3600e3 });
    const rerun = await backup(plain, opts);
    if (snapshots === 0) {
      assertEquals(
        rerun.summary.data_blobs,
        s.files.size - stored,
        `blobs stored by the rerun of a crash at write ${k}`,
      );
      assertEquals(rerun.packsAdopted > 0, stored > indexed, `adopted after a crash at write ${k}`);
      assert(rerun.summary.tree_blobs <= full.summary.tree_blobs);
    }
    if (indexed > 0) reused++;
    assertEquals(
      await verify(at, s.files),
      snapshots + 1,
      `after the rerun of a crash at write ${k}`,
    );
    assertEquals((await listLocks(plain)).length, 0);
  }
  assert(reused > writes / 2, `only ${reused} of ${writes} crashed runs left blobs to reuse`);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("repeated kills of a first backup converge: each run indexes part of what it stored", async () => {
  const s = await smallPackRepo();
  const opts = { paths: [s.src], host: "h", workers: 1 };
  const cleanDir = join(s.dir, "clean");
  assert((await new Deno.Command("cp", { args: ["-a", s.repoDir, cleanDir] }).output()).success);
  await backup(await Repository.open(new LocalBackend(cleanDir), "pw"), opts);
  const clean = await dataFiles(new LocalBackend(cleanDir));

  const backend = new LocalBackend(s.repoDir);
  let runs = 0;
  for (let done = false; !done;) {
    assert(++runs <= 8, "a snapshot within 8 runs");
    // Each run dies after its 8th save (the lock, packs, index files).
    const repo = await Repository.open(new FaultBackend(backend).crashAfterSaves(8), "pw");
    done = await backup(repo, opts).then(() => true, (err) => {
      if (!(err instanceof InjectedFault)) throw err;
      return false;
    });
  }
  assert(runs > 2, `the backup needed ${runs} runs`);
  const stored = await dataFiles(backend);
  // Each run's index files hold at least about half of what it stored.
  assert(
    stored.bytes <= 2 * clean.bytes + runs * 2 * 300_000,
    `${stored.bytes} bytes of packs stored for ${clean.bytes}`,
  );
  assertEquals(await verify(s.repoDir, s.files), 1);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("packs stored half a minute ago are indexed, however few", async () => {
  const s = await smallPackRepo();
  let clock = 0;
  let dataSaves = 0;
  const fault = new FaultBackend(new LocalBackend(s.repoDir), {
    hook: (op, type) => {
      if (op === "save" && type === "data") clock += 10_000;
      if (op === "save" && type === "data") dataSaves++;
      return dataSaves >= 8 ? new InjectedFault("crash at the 8th pack") : undefined;
    },
  });
  const repo = await Repository.open(fault, "pw");
  await assertRejects(
    () =>
      backup(repo, {
        paths: [s.src],
        host: "h",
        workers: 1,
        // Only age can trigger an index file here: the byte threshold is above the whole backup.
        indexPolicy: { ...INDEX_POLICY, minPacks: 64 },
        now: () => clock,
      }),
    InjectedFault,
  );
  // Packs 1 to 4 were stored at 10 to 40 s: the 4th made the first 30 s old.
  const after = await Repository.open(new LocalBackend(s.repoDir), "pw");
  assertEquals(after.index.size, 4);
  assertEquals(await verify(s.repoDir, s.files), 0);
  await Deno.remove(s.dir, { recursive: true });
});

Deno.test("an interrupted backup stops its workers, indexes the packs it stored, and leaves no lock", async () => {
  const s = await smallPackRepo();
  const abort = new AbortController();
  let dataSaves = 0;
  const fault = new FaultBackend(new LocalBackend(s.repoDir), {
    hook: (op, type) => {
      // Interrupted as the third pack's save starts: that save is given up.
      if (op === "save" && type === "data" && ++dataSaves === 3) {
        abort.abort(new Error("interrupted"));
      }
      return undefined;
    },
  });
  const repo = await Repository.open(fault, "pw");
  await assertRejects(
    () => backup(repo, { paths: [s.src], host: "h", workers: 2, signal: abort.signal }),
    Error,
    "interrupted",
  );
  assertEquals(dataSaves, 3, "no pack save starts after the interrupt");
  assertEquals(await listLocks(repo), []);
  const after = await Repository.open(new LocalBackend(s.repoDir), "pw");
  assertEquals((await dataFiles(after.backend)).count, 2);
  assert(after.index.size >= 2, "the packs saved before the stop are indexed");
  assertEquals(await verify(s.repoDir, s.files), 0);
  await Deno.remove(s.dir, { recursive: true });
});

/** The blob ids of the snapshot's file `name` in `src`. */
async function contentOf(repo: Repository, tree: string, src: string, name: string) {
  return (await sourceNodes(repo, tree, src)).get(name)!.content!;
}

/**
 * A big file's bytes: random runs, a run of zeros (cut into equal all-zero
 * chunks) and a run repeated further on, so that two workers hashing
 * different parts of the file meet the same chunks.
 */
function bigFile(): Uint8Array {
  const part = pseudoRandom(5 * 1024 * 1024, 11);
  const data = new Uint8Array(20 * 1024 * 1024);
  data.set(part, 0);
  data.set(pseudoRandom(4 * 1024 * 1024, 12), 7 * 1024 * 1024); // zeros before it
  data.set(part, 12 * 1024 * 1024);
  data.set(pseudoRandom(3 * 1024 * 1024, 13), 17 * 1024 * 1024);
  return data;
}

const SMALL_CHUNKS = { chunker: { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 } };

Deno.test("a big file split over two workers has the blobs of the one-worker path, each stored once", async () => {
  const { repo, src } = await newRepo(SMALL_CHUNKS);
  await Deno.writeFile(`${src}/disk.img`, bigFile());
  await Deno.writeFile(`${src}/small.txt`, utf8("beside it\n"));
  const split = await backup(repo, { paths: [src], host: "h", workers: 2, splitFrom: 1024 });
  const ids = await contentOf(repo, split.snapshot.tree, src, "disk.img");
  assert(ids.length > 200, `expected many chunks (several batches), got ${ids.length}`);
  assert(new Set(ids).size < ids.length - 40, "the zeros and the repeated run share chunks");
  assertEquals(split.summary.data_blobs, new Set(ids).size + 1, "each blob stored once");
  // The one-worker path, without a parent, reads and hashes the file itself.
  const one = await backup(repo, { paths: [src], host: "h", workers: 1, parent: undefined });
  assertEquals(one.summary.data_blobs, 0);
  assertEquals(await contentOf(repo, one.snapshot.tree, src, "disk.img"), ids);
  assertEquals(
    await sourceNodes(repo, one.snapshot.tree, src),
    await sourceNodes(repo, split.snapshot.tree, src),
    "the same nodes",
  );
  assertEquals((await checkRepository(await Repository.open(repo.backend, "pw"))).errors, []);
});

Deno.test("a stream cut on the main thread and packed by the workers has the blobs of the file", async () => {
  const { repo, src } = await newRepo(SMALL_CHUNKS);
  const data = bigFile();
  await Deno.writeFile(`${src}/s.bin`, data);
  const file = await backup(repo, { paths: [src], host: "h", workers: 1 });
  const want = await contentOf(repo, file.snapshot.tree, src, "s.bin");
  // Odd-sized pieces, as a pipe delivers them.
  const pieces: Uint8Array[] = [];
  for (let at = 0, n = 1; at < data.length; at += n, n = (n * 7 + 12345) % 3_000_000 + 1) {
    pieces.push(data.slice(at, at + n));
  }
  const stream = { name: "s.bin", stream: ReadableStream.from(pieces) };
  const r = await backup(repo, { paths: [], host: "h", workers: 2, stream });
  assertEquals(r.summary.data_blobs, 0, "every chunk was already stored by the file's backup");
  const tree = await repo.loadTree(r.snapshot.tree);
  assertEquals(tree.nodes.map((n) => [n.name, n.size]), [["s.bin", data.length]]);
  assertEquals(tree.nodes[0].content, want);
  // And into an empty repository: each blob once, and the bytes come back.
  const other = await newRepo(SMALL_CHUNKS);
  const fresh = await backup(other.repo, {
    paths: [],
    host: "h",
    workers: 2,
    stream: { name: "s.bin", stream: ReadableStream.from(pieces) },
  });
  const ids = (await other.repo.loadTree(fresh.snapshot.tree)).nodes[0].content!;
  assertEquals(fresh.summary.data_blobs, new Set(ids).size);
  const parts = await Promise.all(ids.map((id) => other.repo.loadBlob("data", id)));
  assertEquals(concatBytes(parts), data);
});

Deno.test("a split big file changed during its read is read again; changed twice, stored as read and reported", async () => {
  const { repo, src } = await newRepo(SMALL_CHUNKS);
  const path = `${src}/disk.img`;
  await Deno.writeFile(path, bigFile());
  const run = async (hook: string) => {
    const errors: string[] = [];
    Deno.env.set("CAIRN_TEST_CHANGE_DURING_READ", hook);
    try {
      const r = await backup(repo, {
        paths: [src],
        host: "h",
        workers: 2,
        splitFrom: 1024,
        onError: (e) => errors.push(e.message),
      });
      return { r, errors };
    } finally {
      Deno.env.delete("CAIRN_TEST_CHANGE_DURING_READ");
    }
  };
  const once = await run("disk.img:1");
  assertEquals(once.errors, []);
  const oneWorker = async () => {
    const r = await backup(repo, { paths: [src], host: "h", workers: 1, parent: undefined });
    return contentOf(repo, r.snapshot.tree, src, "disk.img");
  };
  const grown = Deno.statSync(path).size;
  assertEquals(grown, 20 * 1024 * 1024 + 1, "the hook appended a byte during the first read");
  const nodeOnce = (await sourceNodes(repo, once.r.snapshot.tree, src)).get("disk.img")!;
  assertEquals(nodeOnce.size, grown);
  assertEquals(nodeOnce.content, await oneWorker(), "stored as the second read saw it");
  const twice = await run("disk.img");
  assertEquals(twice.errors.length, 1, twice.errors.join("\n"));
  assertStringIncludes(twice.errors[0], "changed while it was read");
  const nodeTwice = (await sourceNodes(repo, twice.r.snapshot.tree, src)).get("disk.img")!;
  // Each read appended a byte; what was stored is what the second read saw.
  assertEquals(Deno.statSync(path).size, grown + 2);
  assert(nodeTwice.size! > grown, `stored ${nodeTwice.size} bytes, not the second read's`);
  const ids = nodeTwice.content!;
  const parts = await Promise.all(ids.map((id) => repo.loadBlob("data", id)));
  const got = concatBytes(parts);
  assertEquals(got, Deno.readFileSync(path).subarray(0, nodeTwice.size));
  assertEquals((await checkRepository(await Repository.open(repo.backend, "pw"))).errors, []);
});
