import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { type FileType, NotFoundError } from "./backend.ts";
import { cacheDirFor, CachingBackend } from "./cache.ts";
import { backendConformance } from "./conformance_test_kit.ts";
import { FaultBackend } from "./fault.ts";
import { MemoryBackend } from "./memory.ts";
import { openBackend } from "./open_backend.ts";

backendConformance("CachingBackend over a memory backend", () => {
  const dir = Deno.makeTempDirSync();
  return Promise.resolve({
    backend: new CachingBackend(new MemoryBackend(), dir),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  });
});

const nameOf = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const bytes = (s: string) => new TextEncoder().encode(s);

/** A cache over a memory backend that counts the loads reaching storage, by type. */
function setup() {
  const dir = Deno.makeTempDirSync();
  const loads: string[] = [];
  const inner = new FaultBackend(new MemoryBackend(), {
    hook: (op, type, name) => {
      if (op === "load") loads.push(`${type}/${name}`);
      return undefined;
    },
  });
  const cache = new CachingBackend(inner, dir);
  return {
    dir,
    loads,
    cache,
    /** A second cache on the same folder, as the next run of cairn opens it. */
    again: () => new CachingBackend(inner, dir),
    [Symbol.dispose]: () => Deno.removeSync(dir, { recursive: true }),
  };
}

for (const type of ["index", "snapshots"] as FileType[]) {
  Deno.test(`cache: a ${type} file is fetched once, then read from the cache`, async () => {
    using t = setup();
    const data = bytes(`${type} file`);
    const name = nameOf(data);
    await t.cache.inner.save(type, name, data);
    deepStrictEqual(await t.cache.load(type, name), data);
    const next = t.again();
    deepStrictEqual(await next.load(type, name), data);
    deepStrictEqual(t.loads, [`${type}/${name}`]);
    deepStrictEqual(next.stats, { hits: 1, misses: 0, damaged: 0 });
  });
}

Deno.test("cache: what this host saves is read back from the cache", async () => {
  using t = setup();
  const data = bytes("a new index");
  await t.cache.save("index", nameOf(data), data);
  deepStrictEqual(await t.again().load("index", nameOf(data)), data);
  deepStrictEqual(t.loads, []);
});

Deno.test("cache: the ranges a data save names are read back from the cache, others fetched", async () => {
  using t = setup();
  const pack = bytes("header|tree segment one|data segment|tree two|");
  const name = nameOf(pack);
  const one = { offset: 7, length: 16 };
  const two = { offset: 37, length: 8 };
  const data = { offset: 24, length: 12 };
  // A range reaching past the file's end is not kept (no bytes to keep for it).
  const past = { offset: 40, length: 20 };
  await t.cache.save("data", name, pack, { cacheRanges: [one, two, past] });
  const next = t.again();
  deepStrictEqual(await next.load("data", name, one, { cache: true }), pack.slice(7, 23));
  deepStrictEqual(await next.load("data", name, two, { cache: true }), pack.slice(37, 45));
  deepStrictEqual(t.loads, []);
  deepStrictEqual(await next.load("data", name, data, { cache: true }), pack.slice(24, 36));
  deepStrictEqual(t.loads, [`data/${name}`]);
  // A kept range whose bytes were damaged is fetched again, not served.
  const path = join(t.dir, "data", name.slice(0, 2), `${name}-7-16`);
  const entry = Deno.readFileSync(path);
  entry[entry.length - 1] ^= 1;
  Deno.writeFileSync(path, entry);
  deepStrictEqual(await t.again().load("data", name, one, { cache: true }), pack.slice(7, 23));
  equal(t.loads.length, 2);
});

Deno.test("cache: a damaged entry is dropped and fetched again", async () => {
  using t = setup();
  const data = bytes("snapshot bytes");
  const name = nameOf(data);
  await t.cache.inner.save("snapshots", name, data);
  await t.cache.load("snapshots", name);
  Deno.writeFileSync(join(t.dir, "snapshots", name), bytes("snapshot bytez"));
  const next = t.again();
  deepStrictEqual(await next.load("snapshots", name), data);
  equal(next.stats.damaged, 1);
  equal(t.loads.length, 2);
  // Kept again, whole: the third run reads it locally.
  deepStrictEqual(await t.again().load("snapshots", name), data);
  equal(t.loads.length, 2);
});

Deno.test("cache: a file whose bytes are not its name's hash is never kept", async () => {
  using t = setup();
  const name = "ab".repeat(32);
  await t.cache.inner.save("index", name, bytes("not hashed"));
  await t.cache.load("index", name);
  await t.again().load("index", name);
  equal(t.loads.length, 2);
});

Deno.test("cache: data ranges are kept only when asked, and checked on the way back", async () => {
  using t = setup();
  const pack = bytes("0123456789abcdefghij");
  const name = nameOf(pack);
  await t.cache.inner.save("data", name, pack);
  const range = { offset: 4, length: 6 };
  // Without the hint (file contents on restore): always from storage.
  await t.cache.load("data", name, range);
  await t.again().load("data", name, range);
  equal(t.loads.length, 2);
  deepStrictEqual(await t.cache.load("data", name, range, { cache: true }), bytes("456789"));
  deepStrictEqual(await t.again().load("data", name, range, { cache: true }), bytes("456789"));
  equal(t.loads.length, 3);
  // A flipped byte in the entry: fetched again, not returned.
  const sub = join(t.dir, "data", name.slice(0, 2));
  const [entry] = [...Deno.readDirSync(sub)].map((e) => join(sub, e.name));
  const raw = Deno.readFileSync(entry);
  raw[raw.length - 1] ^= 1;
  Deno.writeFileSync(entry, raw);
  const next = t.again();
  deepStrictEqual(await next.load("data", name, range, { cache: true }), bytes("456789"));
  equal(next.stats.damaged, 1);
  equal(t.loads.length, 4);
});

Deno.test("cache: remove and complete listings drop entries of files that are gone", async () => {
  using t = setup();
  const files = ["one", "two", "three"].map(bytes);
  for (const f of files) {
    await t.cache.save("snapshots", nameOf(f), f);
    await t.cache.inner.save("data", nameOf(f), f);
    await t.cache.load("data", nameOf(f), { offset: 0, length: 2 }, { cache: true });
  }
  const cached = (type: string) =>
    [...Deno.readDirSync(join(t.dir, type))].flatMap((e) =>
      e.isDirectory ? [...Deno.readDirSync(join(t.dir, type, e.name))].map((f) => f.name) : [e.name]
    ).map((n) => n.split("-")[0]).sort();
  await t.cache.remove("snapshots", nameOf(files[0]));
  await t.cache.remove("data", nameOf(files[0]));
  deepStrictEqual(cached("snapshots"), [nameOf(files[1]), nameOf(files[2])].sort());
  deepStrictEqual(cached("data"), [nameOf(files[1]), nameOf(files[2])].sort());
  // Another host removed the second (a prune elsewhere): the next listing drops its entries.
  await t.cache.inner.remove("snapshots", nameOf(files[1]));
  await t.cache.inner.remove("data", nameOf(files[1]));
  await Array.fromAsync(t.cache.list("snapshots"));
  await Array.fromAsync(t.cache.list("data"));
  deepStrictEqual(cached("snapshots"), [nameOf(files[2])]);
  deepStrictEqual(cached("data"), [nameOf(files[2])]);
  await rejects(t.cache.load("snapshots", nameOf(files[1])), NotFoundError);
});

Deno.test("cache: a folder that cannot be written costs fetches, never an error", async () => {
  const file = Deno.makeTempFileSync();
  try {
    const cache = new CachingBackend(new MemoryBackend(), join(file, "below-a-file"));
    const data = bytes("index");
    await cache.save("index", nameOf(data), data);
    deepStrictEqual(await cache.load("index", nameOf(data)), data);
    deepStrictEqual(cache.stats, { hits: 0, misses: 1, damaged: 0 });
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("cacheDirFor: one folder per location, under CAIRN_CACHE_DIR, XDG or HOME; off is off", () => {
  const a = cacheDirFor("s3:http://h/b/a", { HOME: "/home/u" })!;
  equal(a.startsWith("/home/u/.cache/cairn/"), true);
  equal(cacheDirFor("s3:http://h/b/a", { HOME: "/home/u" }), a);
  equal(cacheDirFor("s3:http://h/b/b", { HOME: "/home/u" }) === a, false);
  equal(cacheDirFor("x", { XDG_CACHE_HOME: "/c", HOME: "/h" })!.startsWith("/c/cairn/"), true);
  equal(cacheDirFor("x", { CAIRN_CACHE_DIR: "/d", HOME: "/h" })!.startsWith("/d/"), true);
  equal(cacheDirFor("x", { CAIRN_CACHE_DIR: "off", HOME: "/h" }), undefined);
  equal(cacheDirFor("x", {}), undefined);
});

Deno.test("openBackend: s3 locations get the cache unless it is turned off; local ones never", () => {
  const env = { HOME: "/home/u", AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" };
  const s3 = "s3:http://127.0.0.1:9/bucket/prefix";
  equal(openBackend(s3, { env }) instanceof CachingBackend, true);
  equal(openBackend(s3, { env, cache: false }) instanceof CachingBackend, false);
  equal(
    openBackend(s3, { env: { ...env, CAIRN_CACHE_DIR: "off" } }) instanceof CachingBackend,
    false,
  );
  equal(openBackend("/tmp/repo", { env }) instanceof CachingBackend, false);
});
