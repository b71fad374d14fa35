import { type Backend, MemoryBackend } from "../backend/mod.ts";
import { keyedId, toHex, utf8, WrongPasswordError } from "../crypto/mod.ts";
import { assertEquals, assertRejects, assertStringIncludes } from "../testing/asserts.ts";
import { hostileRepo } from "../testing/hostile_repo.ts";
import { randomBytes } from "./_prune_testing.ts";
import { CorruptError } from "./format.ts";
import { loadMasterIndex, MasterIndex, saveIndexFile } from "./index.ts";
import type { PackInfo } from "./pack.ts";
import { PACK_MAX_BLOBS, readPackTrailer, SEGMENT_ALONE, SEGMENT_MAX_BLOBS } from "./pack.ts";
import { Repository, RepositoryExistsError } from "./repository.ts";
import { encodeSealedJson } from "./sealed_file.ts";

const FAST = { kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 } };

async function repoWithBlobs(blobs: Uint8Array[], packSize = 1 << 20) {
  const backend = new MemoryBackend();
  const repo = await Repository.init(backend, "pw", { ...FAST, packSize });
  const packs: PackInfo[] = [];
  const writer = repo.newPackWriter((p) => {
    packs.push(p);
    repo.index.addPack(p);
  });
  const ids = blobs.map((b) => toHex(keyedId(repo.master.id, b)));
  blobs.forEach((b, i) => writer.add("data", ids[i], b));
  await writer.flush();
  await saveIndexFile(backend, repo.master.enc, packs);
  return { backend, repo, ids, packs };
}

Deno.test("Repository.open() finds blobs written before, through the index files", async () => {
  const blobs = [
    utf8("hello"),
    new Uint8Array(100_000).fill(7),
    crypto.getRandomValues(new Uint8Array(5000)),
  ];
  const { backend, ids } = await repoWithBlobs(blobs, 50_000);
  const repo = await Repository.open(backend, "pw");
  for (let i = 0; i < blobs.length; i++) {
    assertEquals(await repo.loadBlob("data", ids[i]), blobs[i]);
  }
});

Deno.test("Repository.open() rejects a wrong password with WrongPasswordError", async () => {
  const { backend } = await repoWithBlobs([]);
  await assertRejects(() => Repository.open(backend, "nope"), WrongPasswordError);
});

Deno.test("Repository.init() refuses a backend that already holds a repository", async () => {
  const { backend } = await repoWithBlobs([]);
  await assertRejects(() => Repository.init(backend, "pw", FAST), Error, "already exists");
});

Deno.test("packs compress what compresses and store the rest raw", async () => {
  // Each is large enough for a segment of its own.
  const zeros = new Uint8Array(SEGMENT_ALONE);
  const noise = randomBytes(SEGMENT_ALONE);
  const { packs } = await repoWithBlobs([zeros, noise]);
  const [z, n] = packs[0].blobs;
  assertEquals(z.rawLength, SEGMENT_ALONE);
  assertEquals(z.length < 1000, true, `zeros stored in ${z.length} bytes`);
  assertEquals(n.length, SEGMENT_ALONE + 1 + 28, "flag byte plus nonce and tag");
});

Deno.test("a pack's trailer lists what the index says it holds", async () => {
  const { backend, repo, packs } = await repoWithBlobs([utf8("a"), utf8("b")]);
  const trailer = await readPackTrailer(backend, repo.master.enc, packs[0].name);
  assertEquals(trailer.blobs, packs[0].blobs);
  assertEquals(trailer.salt, packs[0].salt);
});

Deno.test("a flipped byte in a pack makes loadBlob name the damaged blob", async () => {
  const { backend, repo, ids, packs } = await repoWithBlobs([utf8("precious data")]);
  const bytes = await backend.load("data", packs[0].name);
  bytes[packs[0].blobs[0].offset + 15] ^= 1;
  await backend.remove("data", packs[0].name);
  await backend.save("data", packs[0].name, bytes);
  await assertRejects(() => repo.loadBlob("data", ids[0]), CorruptError, ids[0]);
});

Deno.test("a blob asked for at another blob's place fails its id check", async () => {
  const { repo, ids } = await repoWithBlobs([utf8("one"), utf8("two")]);
  const entry = repo.index.get(ids[0])!;
  // Point ids[1] at ids[0]'s bytes: the keyed hash of what is there is not ids[1].
  const forged = new MasterIndex();
  forged.addPack({
    name: entry.pack.name,
    salt: entry.pack.salt,
    blobs: [{ ...entry, id: ids[1] }],
  });
  repo.index = forged;
  await assertRejects(() => repo.loadBlob("data", ids[1]), CorruptError, "does not match its id");
});

Deno.test("small blobs share a segment; a large one has its own", async () => {
  const big = randomBytes(SEGMENT_ALONE);
  const { repo, ids } = await repoWithBlobs([utf8("one"), big, utf8("two")]);
  const [one, large, two] = ids.map((id) => repo.index.get(id)!);
  assertEquals(one.offset, two.offset);
  assertEquals([one.at, two.at], [0, 3]);
  assertEquals(large.offset === one.offset, false);
  assertEquals(await repo.loadBlob("data", ids[2]), utf8("two"));
  assertEquals(await repo.loadBlob("data", ids[1]), big);
});

Deno.test("loadMasterIndex() skips index files another one supersedes", async () => {
  const { backend, repo, packs } = await repoWithBlobs([utf8("x")]);
  const first = (await loadMasterIndex(backend, repo.master.enc)).files;
  await saveIndexFile(backend, repo.master.enc, [], first);
  const { index, files } = await loadMasterIndex(backend, repo.master.enc);
  assertEquals(index.size, 0);
  assertEquals(files.length, 1);
  assertEquals(files.includes(first[0]), false);
  assertEquals(packs.length, 1);
});

Deno.test("snapshots are listed oldest first and found by prefix or latest", async () => {
  const { repo } = await repoWithBlobs([]);
  const base = {
    tree: "0".repeat(64),
    paths: ["/x"],
    host: "h",
    username: "u",
    tags: [],
    program_version: "t",
  };
  const a = await repo.saveSnapshot({ ...base, time: "2024-01-01T00:00:00Z" });
  const b = await repo.saveSnapshot({ ...base, time: "2025-01-01T00:00:00Z" });
  assertEquals((await repo.listSnapshots()).map((s) => s.id), [a, b]);
  assertEquals((await repo.findSnapshot("latest")).id, b);
  assertEquals((await repo.findSnapshot(a.slice(0, 10))).id, a);
  await assertRejects(() => repo.findSnapshot("ffffffffff" + "0"), Error, "No snapshot");
  await assertRejects(() => repo.findSnapshot("../etc"), TypeError, "Invalid snapshot reference");
});

Deno.test("removeSnapshots() removes the snapshot files named and stops when aborted", async () => {
  const { repo } = await repoWithBlobs([]);
  const base = {
    tree: "0".repeat(64),
    paths: ["/x"],
    host: "h",
    username: "u",
    tags: [],
    program_version: "t",
  };
  const ids: string[] = [];
  for (const year of [2021, 2022, 2023]) {
    ids.push(await repo.saveSnapshot({ ...base, time: `${year}-01-01T00:00:00Z` }));
  }
  await repo.removeSnapshots([ids[0], ids[2]]);
  assertEquals((await repo.listSnapshots()).map((s) => s.id), [ids[1]]);
  const stop = new AbortController();
  stop.abort(new Error("stop"));
  await assertRejects(() => repo.removeSnapshots([ids[1]], { signal: stop.signal }), Error, "stop");
  assertEquals((await repo.listSnapshots()).map((s) => s.id), [ids[1]]);
});

Deno.test("blobs of packs prune dropped stay readable but are never reused", async () => {
  const { backend, repo, ids, packs } = await repoWithBlobs([utf8("kept for a late snapshot")]);
  // What prune's first phase writes: a new index that supersedes the old one
  // and lists the pack as dropped.
  const old = (await loadMasterIndex(backend, repo.master.enc)).files;
  await saveIndexFile(
    backend,
    repo.master.enc,
    [],
    old,
    packs.map((p) => ({ ...p, droppedAt: Date.now() })),
  );
  const fresh = await Repository.open(backend, "pw");
  assertEquals(fresh.index.has(ids[0]), false, "a new backup must not reuse it");
  assertEquals(fresh.index.sortedIds().byteLength, 0);
  assertEquals(await fresh.loadBlob("data", ids[0]), utf8("kept for a late snapshot"));
});

Deno.test("tiny blobs fill segments and packs by count, not only by size", async () => {
  const blobs = Array.from({ length: PACK_MAX_BLOBS + 100 }, (_, i) => utf8(`file ${i}\n`));
  const { repo, ids, packs } = await repoWithBlobs(blobs);
  assertEquals(packs.length, 2);
  assertEquals(packs[0].blobs.length, PACK_MAX_BLOBS);
  const perSegment = new Map<string, number>();
  for (const b of packs.flatMap((p) => p.blobs.map((b) => `${p.name}/${b.offset}`))) {
    perSegment.set(b, (perSegment.get(b) ?? 0) + 1);
  }
  assertEquals(Math.max(...perSegment.values()), SEGMENT_MAX_BLOBS);
  assertEquals(await repo.loadBlob("data", ids.at(-1)!), blobs.at(-1));
});

Deno.test("Repository.open() names the format version it cannot read", async () => {
  const { backend, repo } = await repoWithBlobs([]);
  const old = { ...repo.config, version: 1 };
  await backend.remove("config", "config");
  await backend.save("config", "config", await encodeSealedJson(repo.master.enc, "config", old));
  await assertRejects(() => Repository.open(backend, "pw"), CorruptError, "format version 1");
});

Deno.test("racing Repository.init() calls leave one repository and only its key", async () => {
  const backend = new MemoryBackend();
  const results = await Promise.allSettled(
    [1, 2, 3].map(() => Repository.init(backend, "pw", FAST)),
  );
  const won = results.filter((r) => r.status === "fulfilled");
  assertEquals(won.length, 1);
  for (const r of results) {
    if (r.status === "rejected") assertEquals(r.reason instanceof RepositoryExistsError, true);
  }
  assertEquals((await Array.fromAsync(backend.list("keys"))).length, 1);
  const repo = await Repository.open(backend, "pw");
  assertEquals(repo.config.id, (won[0] as PromiseFulfilledResult<Repository>).value.config.id);
});

Deno.test("Repository.open() skips a key that opens with the password but not the config", async () => {
  // What a losing init leaves for a moment: its key, for a config that lost.
  // It is saved first so that it is also listed first.
  const backend = new MemoryBackend();
  const stray = new MemoryBackend();
  await Repository.init(stray, "pw", FAST);
  for await (const k of stray.list("keys")) {
    await backend.save("keys", k.name, await stray.load("keys", k.name));
  }
  const repo = await Repository.init(backend, "pw", FAST);
  assertEquals((await Array.fromAsync(backend.list("keys"))).length, 2);
  assertEquals((await Repository.open(backend, "pw")).config.id, repo.config.id);
});

Deno.test("loadBlob() refuses a data blob longer than the chunker ever cuts", async () => {
  const h = await hostileRepo();
  const max = h.repo.config.chunker.max;
  const id = h.put("data", new Uint8Array(max + 1));
  const fine = h.put("data", new Uint8Array(max));
  await h.snapshot(h.tree([]));
  await assertRejects(
    () => h.repo.loadBlob("data", id),
    CorruptError,
    "above the chunker's maximum",
  );
  assertEquals((await h.repo.loadBlob("data", fine)).length, max);
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("Repository.open() skips unreadable and malformed key files with a warning", async () => {
  const backend = new MemoryBackend();
  await Repository.init(backend, "pw", FAST);
  const [unreadable, garbage] = ["1".repeat(64), "0".repeat(64)];
  await backend.save("keys", garbage, utf8("not json"));
  // Tried first, as a listing may well order them.
  const bad = [unreadable, garbage];
  const view: Backend = {
    location: backend.location,
    save: (t, n, d, o) => backend.save(t, n, d, o),
    load: (t, n, r, o) =>
      n === unreadable ? Promise.reject(new Error("I/O error")) : backend.load(t, n, r, o),
    stat: (t, n, o) => backend.stat(t, n, o),
    remove: (t, n, o) => backend.remove(t, n, o),
    close: () => backend.close(),
    list: (t, o) =>
      t !== "keys" ? backend.list(t, o) : (async function* () {
        for (const name of bad) yield { name, size: 1 };
        for await (const f of backend.list(t, o)) if (!bad.includes(f.name)) yield f;
      })(),
  };
  const warnings: string[] = [];
  const repo = await Repository.open(view, "pw", { onWarning: (m) => warnings.push(m) });
  assertEquals(repo.config.version, 2);
  assertEquals(warnings.length, 2);
  assertEquals(
    warnings[0],
    `skipped a key file: Key file "${unreadable}" cannot be read: I/O error`,
  );
  assertStringIncludes(warnings[1], `skipped a key file: Key file "${garbage}" is malformed: `);
  const wrong = await assertRejects(() => Repository.open(view, "nope"), WrongPasswordError);
  assertEquals(
    wrong.message,
    `Wrong password: no key in ${backend.location} opens with it (2 key file(s) skipped as unusable)`,
  );
});

Deno.test("Repository.init() gives s3: repositories bigger packs unless told a size", async () => {
  class S3Like extends MemoryBackend {
    override readonly location = "s3:http://127.0.0.1:9/bucket/repo";
  }
  const s3 = await Repository.init(new S3Like(), "pw", FAST);
  assertEquals(s3.config.pack_size, 16 * 1024 * 1024);
  const local = await Repository.init(new MemoryBackend(), "pw", FAST);
  assertEquals(local.config.pack_size, 4 * 1024 * 1024);
  const told = await Repository.init(new S3Like(), "pw", { ...FAST, packSize: 1048576 });
  assertEquals(told.config.pack_size, 1048576);
});

Deno.test("loadMasterIndex() lists again when a prune removes an index file under it", async () => {
  const { backend, repo, ids, packs } = await repoWithBlobs([utf8("x"), utf8("y")]);
  const old = (await loadMasterIndex(backend, repo.master.enc)).files;
  // Between the listing and the load, a prune writes the superseding index and removes the old.
  class Pruned extends MemoryBackend {
    pruned = false;
    override async load(...args: Parameters<MemoryBackend["load"]>) {
      if (args[0] === "index" && !this.pruned) {
        this.pruned = true;
        await saveIndexFile(this, repo.master.enc, packs, old);
        await this.remove("index", old[0]);
      }
      return super.load(...args);
    }
  }
  const racing = new Pruned();
  for (const type of ["config", "keys", "data", "index"] as const) {
    for await (const f of backend.list(type)) {
      await racing.save(type, f.name, await backend.load(type, f.name));
    }
  }
  const { index, files } = await loadMasterIndex(racing, repo.master.enc);
  assertEquals(racing.pruned, true);
  assertEquals(files.length, 1);
  assertEquals(files.includes(old[0]), false);
  for (const id of ids) assertEquals(index.has(id), true);
});

Deno.test("Repository.open() with its only key unreadable for a transient error rethrows it", async () => {
  const backend = new MemoryBackend();
  await Repository.init(backend, "pw", FAST);
  const down = new Error("connection reset");
  class Flaky extends MemoryBackend {
    override load(...args: Parameters<MemoryBackend["load"]>) {
      return args[0] === "keys" ? Promise.reject(down) : backend.load(...args);
    }
    override list(...args: Parameters<MemoryBackend["list"]>) {
      return backend.list(...args);
    }
    override stat(...args: Parameters<MemoryBackend["stat"]>) {
      return backend.stat(...args);
    }
  }
  const warnings: string[] = [];
  const err = await assertRejects(() =>
    Repository.open(new Flaky(), "pw", { onWarning: (m) => warnings.push(m) })
  );
  assertEquals(err, down);
  assertEquals(warnings, []);
});

Deno.test("tree segments are read with the cache hint, file contents without", async () => {
  const backend = new MemoryBackend();
  const repo = await Repository.init(backend, "pw", FAST);
  const writer = repo.newPackWriter((p) => repo.index.addPack(p));
  const tree = utf8(JSON.stringify({ nodes: [] }));
  const data = utf8("file contents");
  const treeId = toHex(keyedId(repo.master.id, tree));
  const dataId = toHex(keyedId(repo.master.id, data));
  writer.add("tree", treeId, tree);
  writer.add("data", dataId, data);
  await writer.flush();
  const hints: (boolean | undefined)[] = [];
  const load = backend.load.bind(backend);
  backend.load = (type, name, range, options) => {
    if (type === "data") hints.push(options?.cache);
    return load(type, name, range, options);
  };
  await repo.loadTree(treeId);
  await repo.loadBlob("data", dataId);
  assertEquals(hints, [true, false]);
});

Deno.test("blobs across many small-blob segments read back whole (the segment buffer is reused)", async () => {
  // 40 KiB blobs of distinct random bytes: about 13 a segment, so 7 segments in 1 MiB packs,
  // each filled into the buffer the one before it was encoded from.
  const blobs = Array.from({ length: 90 }, () => randomBytes(40 * 1024));
  const { backend, ids, packs } = await repoWithBlobs(blobs);
  const repo = await Repository.open(backend, "pw");
  const segments = new Set(packs.flatMap((p) => p.blobs.map((b) => `${p.name}@${b.offset}`)));
  assertEquals(segments.size >= 6, true, `${segments.size} segments`);
  for (let i = 0; i < blobs.length; i++) {
    assertEquals(await repo.loadBlob("data", ids[i]), blobs[i]);
  }
});
