import { backup } from "../archiver/mod.ts";
import { LocalBackend } from "../backend/mod.ts";
import { keyedId, toHex, utf8 } from "../crypto/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "../testing/asserts.ts";
import { rawNode } from "../testing/raw_node.ts";
import { checkRepository, openRepositoryForCheck, parseDataSubset, selectPacks } from "./check.ts";
import type { PackInfo } from "./pack.ts";
import { Repository } from "./repository.ts";
import { saveIndexFile } from "./index.ts";

/** A repository with one backup of a small tree; returns its folder and snapshot id. */
async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "cairn-check-" });
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/sub`, { recursive: true });
  Deno.writeTextFileSync(`${src}/a.txt`, "alpha ".repeat(100));
  Deno.writeTextFileSync(`${src}/sub/b.txt`, "beta ".repeat(100));
  const backend = await LocalBackend.create(`${dir}/repo`);
  const repo = await Repository.init(backend, "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  const r = await backup(repo, { paths: [src], host: "h", workers: 1 });
  // A fully opened repository (with its index) for tests to look into.
  return { dir, backend, repo: await Repository.open(backend, "pw"), snapshot: r.id };
}

function reopen(backend: LocalBackend) {
  return openRepositoryForCheck(backend, "pw");
}

/** Path of a stored file, made writable so a test can damage it. */
function fileOf(backend: LocalBackend, type: string, name: string): string {
  const path = type === "data"
    ? `${backend.dir}/data/${name.slice(0, 2)}/${name}`
    : `${backend.dir}/${type}/${name}`;
  Deno.chmodSync(path, 0o600);
  return path;
}

function flipByte(path: string, at: number) {
  const bytes = Deno.readFileSync(path);
  bytes[at] ^= 0x40;
  Deno.writeFileSync(path, bytes);
}

/** A data blob the index knows, and its pack. */
function someDataBlob(repo: Repository) {
  for (const [id, e] of repo.index.entries()) if (e.type === "data") return { id, e };
  throw new Error("no data blob");
}

const objects = (issues: { object: string }[]) => issues.map((i) => i.object);

Deno.test("checkRepository() finds nothing wrong in a fresh repository", async () => {
  const { dir, repo } = await fixture();
  const r = await checkRepository(repo, { readData: true });
  assertEquals(r.errors, []);
  assertEquals(r.warnings, []);
  assertEquals(r.stats.snapshots, 1);
  assertEquals(r.stats.trees >= 4, true); // / tmp cairn-check-… src sub
  assertEquals(r.stats.dataBlobs, 2);
  assertEquals(r.stats.blobsRead, repo.index.size);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkRepository({readData}) names the blob and pack a flipped byte damaged", async () => {
  const { dir, backend, repo } = await fixture();
  const { id, e } = someDataBlob(repo);
  flipByte(fileOf(backend, "data", e.pack.name), e.offset + 20);

  // The structure is intact: only reading the data finds it.
  assertEquals((await checkRepository(await reopen(backend))).errors, []);
  const r = await checkRepository(await reopen(backend), { readData: true });
  // Every blob sealed in the damaged segment is named, and only those.
  const inSegment = [...repo.index.entries()]
    .filter(([, x]) => x.pack.name === e.pack.name && x.offset === e.offset)
    .map(([blob, x]) => `${x.type} blob ${blob}`);
  assert(inSegment.includes(`data blob ${id}`));
  assertEquals(objects(r.errors).sort(), [...inSegment, `pack ${e.pack.name}`].sort());
  const blobErr = r.errors.find((x) => x.object === `data blob ${id}`)!;
  assertStringIncludes(blobErr.message, `in pack ${e.pack.name}`);
  assertStringIncludes(blobErr.message, "authentication failed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkRepository() reports a truncated pack by name", async () => {
  const { dir, backend, repo } = await fixture();
  const { id, e } = someDataBlob(repo);
  const path = fileOf(backend, "data", e.pack.name);
  const size = Deno.statSync(path).size;
  // Cut into the trailer: the sizes still fit, the trailer does not.
  Deno.truncateSync(path, size - 10);
  let r = await checkRepository(await reopen(backend));
  assertEquals(objects(r.errors), [`pack ${e.pack.name}`]);
  assertStringIncludes(r.errors[0].message, "trailer cannot be read");
  // Cut into the blobs: too small for what the index places there.
  Deno.truncateSync(path, e.offset + 5);
  r = await checkRepository(await reopen(backend), { readData: true });
  const packErr = r.errors.find((x) => x.object === `pack ${e.pack.name}`);
  assert(packErr, JSON.stringify(r.errors));
  assertStringIncludes(packErr.message, "truncated?");
  // Reading the data names the blob that was cut off.
  assert(objects(r.errors).includes(`data blob ${id}`), JSON.stringify(r.errors));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkRepository() reports a deleted pack and the trees it held", async () => {
  const { dir, backend, repo } = await fixture();
  const { e } = someDataBlob(repo);
  Deno.removeSync(fileOf(backend, "data", e.pack.name));
  let r = await checkRepository(await reopen(backend));
  assertEquals(objects(r.errors), [`pack ${e.pack.name}`]);
  assertStringIncludes(r.errors[0].message, "is missing");

  // Trees live in packs of their own: losing one makes them unloadable.
  const fresh = await Repository.open(backend, "pw");
  const snap = await fresh.loadSnapshot(
    (await Array.fromAsync(backend.list("snapshots")))[0].name,
  );
  const treePack = fresh.index.get(snap.tree)!.pack.name;
  Deno.removeSync(fileOf(backend, "data", treePack));
  r = await checkRepository(await reopen(backend));
  assert(objects(r.errors).includes(`pack ${treePack}`));
  assert(objects(r.errors).includes(`tree ${snap.tree}`), JSON.stringify(r.errors));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkRepository() reports a damaged snapshot file by name", async () => {
  const { dir, backend, snapshot } = await fixture();
  flipByte(fileOf(backend, "snapshots", snapshot), 40);
  const r = await checkRepository(await reopen(backend));
  assertEquals(objects(r.errors), [`snapshot ${snapshot}`]);
  assertStringIncludes(r.errors[0].message, "does not match its name");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkRepository() reports a damaged index file that Repository.open skips", async () => {
  const { dir, backend } = await fixture();
  const names = (await Array.fromAsync(backend.list("index"))).map((f) => f.name);
  for (const n of names) flipByte(fileOf(backend, "index", n), 50);
  const warned: string[] = [];
  const opened = await Repository.open(backend, "pw", { onWarning: (m) => warned.push(m) });
  assertEquals(opened.damagedIndexFiles, names);
  assertEquals(warned.length, names.length);
  const r = await checkRepository(await reopen(backend));
  for (const n of names) assert(objects(r.errors).includes(`index file ${n}`));
  // Without an index, the packs are unindexed and the trees unreachable.
  assert(r.warnings.length > 0);
  assert(r.errors.some((x) => x.object.startsWith("tree ")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkRepository() warns about packs no index names", async () => {
  const { dir, backend, repo } = await fixture();
  const packs: PackInfo[] = [];
  const w = repo.newPackWriter((p) => void packs.push(p));
  const bytes = utf8("orphan blob");
  w.add("data", toHex(keyedId(repo.master.id, bytes)), bytes);
  await w.flush();
  const r = await checkRepository(await reopen(backend), { readData: true });
  assertEquals(r.errors, []);
  assertEquals(objects(r.warnings), [`pack ${packs[0].name}`]);
  assertEquals(r.stats.unindexedPacks, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkRepository() reports a data blob a file needs but the index lacks", async () => {
  const { dir, backend, repo } = await fixture();
  const missing = "ab".repeat(32);
  const tree = utf8(JSON.stringify({
    nodes: [rawNode("f", "file", { size: 3, content: [missing] })],
  }));
  const treeId = toHex(keyedId(repo.master.id, tree));
  const packs: PackInfo[] = [];
  const w = repo.newPackWriter((p) => void packs.push(p));
  w.add("tree", treeId, tree);
  await w.flush();
  await saveIndexFile(backend, repo.master.enc, packs);
  await repo.saveSnapshot({
    time: new Date().toISOString(),
    tree: treeId,
    paths: ["/f"],
    host: "h",
    username: "u",
    tags: [],
    program_version: "test",
  });
  const r = await checkRepository(await reopen(backend));
  assertEquals(objects(r.errors), [`data blob ${missing}`]);
  assertStringIncludes(r.errors[0].message, "needed by /f");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("parseDataSubset() reads N/M, P% and sizes, and refuses the rest", () => {
  assertEquals(parseDataSubset("2/5"), { kind: "part", n: 2, m: 5 });
  assertEquals(parseDataSubset("10%"), { kind: "share", fraction: 0.1 });
  assertEquals(parseDataSubset("500M"), { kind: "bytes", bytes: 500 * 1024 * 1024 });
  assertEquals(parseDataSubset("2GiB"), { kind: "bytes", bytes: 2 * 1024 ** 3 });
  for (const bad of ["0/3", "4/3", "0%", "101%", "abc", "1/0"]) {
    let threw = false;
    try {
      parseDataSubset(bad);
    } catch (err) {
      threw = err instanceof RangeError;
    }
    assert(threw, `accepted "${bad}"`);
  }
});

Deno.test("selectPacks() parts cover every pack once; shares and sizes take that much", () => {
  const packs = Array.from({ length: 40 }, (_, i) => ({
    name: toHex(keyedId(new Uint8Array(32), utf8(`p${i}`))),
    size: 100,
  }));
  const parts = [1, 2, 3].map((n) => selectPacks(packs, { kind: "part", n, m: 3 }));
  assertEquals(parts.flat().sort(), packs.map((p) => p.name).sort());
  assert(parts.every((p) => p.length > 0));
  assertEquals(selectPacks(packs, { kind: "share", fraction: 0.25 }).length, 10);
  assertEquals(selectPacks(packs, { kind: "bytes", bytes: 750 }).length, 7);
});

Deno.test("check --read-data-subset reads only its part of the packs", async () => {
  const { dir, backend, repo } = await fixture();
  const packs = [...repo.index.packs()].map((p) => p.name);
  let damaged = 0;
  for (const name of packs) {
    const path = fileOf(backend, "data", name);
    const bytes = Deno.readFileSync(path);
    bytes[60] ^= 1;
    Deno.writeFileSync(path, bytes);
    damaged++;
  }
  const found: number[] = [];
  for (const n of [1, 2]) {
    const r = await checkRepository(await reopen(backend), {
      readData: true,
      readDataSubset: { kind: "part", n, m: 2 },
    });
    found.push(r.errors.filter((e) => e.message.includes("does not match its name")).length);
  }
  assertEquals(found[0] + found[1], damaged, "the two halves together read every pack once");
  await Deno.remove(dir, { recursive: true });
});
