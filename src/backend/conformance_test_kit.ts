/**
 * The conformance suite every {@link Backend} must pass: one call registers a
 * `Deno.test` per guarantee written in `backend.ts`, so each backend's own
 * test file stays a few lines long.
 *
 * @module
 */

import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import {
  AlreadyExistsError,
  type Backend,
  FILE_TYPES,
  type FileType,
  NotFoundError,
} from "./backend.ts";

/** A fresh, empty backend for one test, and how to dispose of it. */
export interface BackendFixture {
  backend: Backend;
  cleanup(): Promise<void>;
}

/** Registers the conformance tests for the backends that `make` creates. */
export function backendConformance(
  name: string,
  make: () => Promise<BackendFixture>,
  options: { ignore?: boolean } = {},
): void {
  const test = (title: string, fn: (backend: Backend) => Promise<void>) =>
    Deno.test({ name: `${name}: ${title}`, ignore: options.ignore }, async () => {
      const { backend, cleanup } = await make();
      try {
        await fn(backend);
      } finally {
        await backend.close();
        await cleanup();
      }
    });

  test("load() returns the bytes save() stored", async (b) => {
    const data = bytes(1000, 1);
    await b.save("data", hexName(1), data);
    assertBytes(await b.load("data", hexName(1)), data);
  });

  test("load() with a range returns only those bytes", async (b) => {
    const data = bytes(1000, 2);
    await b.save("data", hexName(2), data);
    for (const [offset, length] of [[0, 10], [500, 100], [990, 10], [0, 1000], [1000, 0]]) {
      assertBytes(
        await b.load("data", hexName(2), { offset, length }),
        data.slice(offset, offset + length),
      );
    }
  });

  test("load() with a negative offset counts from the end", async (b) => {
    const data = bytes(1000, 3);
    await b.save("data", hexName(3), data);
    assertBytes(await b.load("data", hexName(3), { offset: -16, length: 16 }), data.slice(984));
    assertBytes(await b.load("data", hexName(3), { offset: -16, length: 4 }), data.slice(984, 988));
    assertBytes(await b.load("data", hexName(3), { offset: -1000, length: 1000 }), data);
  });

  test("load() rejects a range outside the file with RangeError", async (b) => {
    await b.save("data", hexName(4), bytes(1000, 4));
    for (const [offset, length] of [[995, 10], [1001, 0], [-1001, 1], [-10, 11], [0, -1]]) {
      await rejects(
        b.load("data", hexName(4), { offset, length }),
        RangeError,
        `${offset}+${length}`,
      );
    }
    await rejects(b.load("data", hexName(4), { offset: 0.5, length: 1 }), TypeError);
  });

  test("stat() reports the size of each file", async (b) => {
    for (const size of [0, 1, 1000]) {
      await b.save("index", hexName(size), bytes(size, size));
      const info = await b.stat("index", hexName(size));
      equal(info.name, hexName(size));
      equal(info.size, size);
    }
  });

  test("list() yields every file of a type and no file of another type", async (b) => {
    const expected = new Map<FileType, Map<string, number>>();
    let seed = 100;
    for (const type of FILE_TYPES) {
      const files = new Map<string, number>();
      for (let i = 0; i < (type === "config" ? 1 : 5); i++) {
        const fileName = type === "config" ? "config" : hexName(seed);
        await b.save(type, fileName, bytes(seed, seed));
        files.set(fileName, seed++);
      }
      expected.set(type, files);
    }
    for (const type of FILE_TYPES) {
      const listed = new Map((await Array.fromAsync(b.list(type))).map((f) => [f.name, f.size]));
      deepStrictEqual(listed, expected.get(type), `list("${type}")`);
    }
  });

  test("list() of a type with no files yields nothing", async (b) => {
    for (const type of FILE_TYPES) deepStrictEqual(await Array.fromAsync(b.list(type)), []);
  });

  test("remove() deletes a file so load, stat and list no longer see it", async (b) => {
    await b.save("snapshots", hexName(5), bytes(10, 5));
    await b.save("snapshots", hexName(6), bytes(10, 6));
    await b.remove("snapshots", hexName(5));
    await rejects(b.load("snapshots", hexName(5)), NotFoundError);
    await rejects(b.stat("snapshots", hexName(5)), NotFoundError);
    deepStrictEqual(await names(b, "snapshots"), [hexName(6)]);
  });

  test("load(), stat() and remove() of a missing file reject with NotFoundError", async (b) => {
    await b.save("data", hexName(7), bytes(10, 7));
    const missing = hexName(8);
    const isMissing = (err: unknown) =>
      err instanceof NotFoundError && err.type === "data" && err.fileName === missing;
    await rejects(b.load("data", missing), isMissing);
    await rejects(b.load("data", missing, { offset: 0, length: 1 }), isMissing);
    await rejects(b.stat("data", missing), isMissing);
    await rejects(b.remove("data", missing), isMissing);
    await rejects(b.load("config", "config"), NotFoundError);
  });

  test("save() of an existing name with the same bytes succeeds", async (b) => {
    const data = bytes(500, 9);
    await b.save("keys", hexName(9), data);
    await b.save("keys", hexName(9), data);
    await Promise.all(Array.from({ length: 8 }, () => b.save("keys", hexName(9), data)));
    assertBytes(await b.load("keys", hexName(9)), data);
    deepStrictEqual(await names(b, "keys"), [hexName(9)]);
  });

  test("save() with ifAbsent creates a file once and keeps the first bytes", async (b) => {
    const first = bytes(300, 20);
    await b.save("config", "config", first, { ifAbsent: true });
    await rejects(
      b.save("config", "config", bytes(300, 21), { ifAbsent: true }),
      (err) => err instanceof AlreadyExistsError && err.type === "config",
    );
    // The same bytes again: a retried create whose answer was lost.
    await b.save("config", "config", first, { ifAbsent: true });
    assertBytes(await b.load("config", "config"), first);
  });

  test("of concurrent ifAbsent saves with different bytes exactly one wins", async (b) => {
    const candidates = Array.from({ length: 6 }, (_, i) => bytes(200 + i, 30 + i));
    const results = await Promise.allSettled(
      candidates.map((data) => b.save("config", "config", data, { ifAbsent: true })),
    );
    const won = results.flatMap((r, i) => r.status === "fulfilled" ? [i] : []);
    equal(won.length, 1, `winners: ${won}`);
    for (const r of results) {
      if (r.status === "rejected") ok(r.reason instanceof AlreadyExistsError, String(r.reason));
    }
    assertBytes(await b.load("config", "config"), candidates[won[0]]);
  });

  test("every operation rejects an invalid name with TypeError", async (b) => {
    const bad: [FileType, string][] = [
      ["data", ""],
      ["data", "ABCDEF0123"],
      ["data", "abc"],
      ["data", "../../config"],
      ["data", "0123456789/abcdef"],
      ["data", ".tmp-0123456789"],
      ["data", "config"],
      ["locks", "0123456789abcdef\n"],
      ["config", "0123456789abcdef"],
      ["config", "../config"],
    ];
    for (const [type, fileName] of bad) {
      await rejects(b.save(type, fileName, bytes(1, 1)), TypeError);
      await rejects(b.load(type, fileName), TypeError);
      await rejects(b.stat(type, fileName), TypeError);
      await rejects(b.remove(type, fileName), TypeError);
    }
    for (const type of FILE_TYPES) deepStrictEqual(await names(b, type), []);
  });

  test("many concurrent saves all land intact", async (b) => {
    const count = 200;
    const ids = Array.from({ length: count }, (_, i) => 1000 + i);
    await Promise.all(ids.map((i) => b.save("data", hexName(i), bytes(100 + i, i))));
    deepStrictEqual(await names(b, "data"), ids.map(hexName).sort());
    const loaded = await Promise.all(ids.map((i) => b.load("data", hexName(i))));
    loaded.forEach((data, k) => assertBytes(data, bytes(100 + ids[k], ids[k])));
  });

  test("an empty file round-trips", async (b) => {
    await b.save("locks", hexName(10), new Uint8Array(0));
    equal((await b.load("locks", hexName(10))).length, 0);
    equal((await b.load("locks", hexName(10), { offset: 0, length: 0 })).length, 0);
    equal((await b.stat("locks", hexName(10))).size, 0);
    deepStrictEqual(await names(b, "locks"), [hexName(10)]);
  });

  test("a 20 MiB file round-trips and its trailer can be read alone", async (b) => {
    const data = bytes(20 * 1024 * 1024, 11);
    await b.save("data", hexName(11), data);
    equal((await b.stat("data", hexName(11))).size, data.length);
    assertBytes(await b.load("data", hexName(11)), data);
    const trailer = await b.load("data", hexName(11), { offset: -4096, length: 4096 });
    assertBytes(trailer, data.subarray(data.length - 4096));
  });

  test("buffers passed to save() or returned by load() are not aliased", async (b) => {
    const data = bytes(100, 12);
    const original = data.slice();
    await b.save("data", hexName(12), data);
    data.fill(0);
    const first = await b.load("data", hexName(12));
    assertBytes(first, original);
    first.fill(0);
    assertBytes(await b.load("data", hexName(12)), original);
    assertBytes(await b.load("data", hexName(12), { offset: 0, length: 100 }), original);
  });

  test("an aborted signal rejects every operation with its reason", async (b) => {
    await b.save("data", hexName(13), bytes(10, 13));
    const reason = new Error("stop");
    const options = { signal: AbortSignal.abort(reason) };
    const isReason = (err: unknown) => err === reason;
    await rejects(b.save("data", hexName(14), bytes(10, 14), options), isReason);
    await rejects(b.load("data", hexName(13), undefined, options), isReason);
    await rejects(b.stat("data", hexName(13), options), isReason);
    await rejects(b.remove("data", hexName(13), options), isReason);
    await rejects(Array.fromAsync(b.list("data", options)), isReason);
    deepStrictEqual(await names(b, "data"), [hexName(13)]);
  });
}

/** A 64-character hex name whose first characters vary with `i`. */
export function hexName(i: number): string {
  return (Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(8, "0").repeat(8);
}

/** `size` pseudo-random bytes, the same for the same `seed`. */
export function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed * 0x2545f491 + 1) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

async function names(b: Backend, type: FileType): Promise<string[]> {
  return (await Array.fromAsync(b.list(type))).map((f) => f.name).sort();
}

/** Compares bytes without deepEqual's per-element cost on 20 MiB buffers. */
function assertBytes(actual: Uint8Array, expected: Uint8Array): void {
  ok(actual instanceof Uint8Array, "expected a Uint8Array");
  equal(actual.length, expected.length, "length differs");
  const at = actual.findIndex((v, i) => v !== expected[i]);
  equal(at, -1, `bytes differ at offset ${at}`);
}
