import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import { FIRST_WINDOW, ReadAhead } from "./_read_ahead.ts";

/** An object of `size` bytes (byte i is i mod 251), and the GETs asked of it. */
function object(size: number) {
  const data = Uint8Array.from({ length: size }, (_, i) => i % 251);
  const gets: [number, number][] = [];
  let failNext = false;
  const ra = new ReadAhead((_name, offset, length) => {
    gets.push([offset, length]);
    if (failNext) {
      failNext = false;
      return Promise.reject(new Error("connection reset"));
    }
    return Promise.resolve({ bytes: data.slice(offset, offset + length), total: size });
  });
  return { data, gets, ra, failOnce: () => (failNext = true) };
}

Deno.test("ReadAhead: a pack read front to back takes a few windows, not a GET a segment", async () => {
  const size = 16 * 1024 * 1024;
  const { data, gets, ra } = object(size);
  const seg = 128 * 1024;
  for (let at = 0; at < size; at += seg) {
    const got = await ra.read("p", at, seg);
    deepStrictEqual(got, data.slice(at, at + seg));
  }
  // One GET as asked, then windows of 1, 2 and 4 MiB ahead of the reads.
  equal(gets.length < 10, true, `${gets.length} GETs`);
  deepStrictEqual(gets.slice(0, 2), [[0, seg], [seg, FIRST_WINDOW]]);
  equal(ra.stats.hits, size / seg - 2);
});

Deno.test("ReadAhead: reads that straddle windows fetch each byte of the object once", async () => {
  const size = 16 * 1024 * 1024 + 12345;
  const { data, gets, ra } = object(size);
  // Segments that do not divide the windows, and some long ones (a restore
  // merges neighbours into reads of up to 8 MiB), spanning two or three windows.
  const lengths = [300_001, 1_700_000, 123_457, 5_000_000, 77_777];
  let n = 0;
  for (let at = 0; at < size; n++) {
    const length = Math.min(lengths[n % lengths.length], size - at);
    deepStrictEqual(await ra.read("p", at, length), data.slice(at, at + length));
    at += length;
  }
  const fetched = gets.reduce((sum, [offset, length]) => sum + Math.min(length, size - offset), 0);
  equal(fetched, size, `fetched ${fetched} bytes of ${size}: ${JSON.stringify(gets)}`);
});

Deno.test("ReadAhead: a single read fetches what it asks; what it returns is the caller's", async () => {
  const { data, gets, ra } = object(1000);
  const got = await ra.read("p", 100, 50) as Uint8Array;
  deepStrictEqual(gets, [[100, 50]]);
  deepStrictEqual(got, data.slice(100, 150));
  const again = await ra.read("p", 200, 10) as Uint8Array;
  again.fill(0);
  deepStrictEqual(await ra.read("p", 210, 10), data.slice(210, 220));
});

Deno.test("ReadAhead: a range past the end gives the object's size, never fewer bytes", async () => {
  const { ra } = object(1000);
  equal(await ra.read("p", 900, 200), 1000);
  await ra.read("p", 0, 10);
  // In a window that the end cut short.
  equal(await ra.read("p", 990, 20), 1000);
});

Deno.test("ReadAhead: a failed window is dropped, and the next read asks again", async () => {
  const { data, gets, ra, failOnce } = object(8 * 1024 * 1024);
  await ra.read("p", 0, 1000);
  failOnce();
  await rejects(ra.read("p", 1000, 1000), /connection reset/);
  deepStrictEqual(await ra.read("p", 1000, 1000), data.slice(1000, 2000));
  equal(gets.length, 3);
});

Deno.test("ReadAhead: forget drops the windows of a removed object", async () => {
  const { gets, ra } = object(4 * 1024 * 1024);
  await ra.read("p", 0, 10);
  await ra.read("p", 10, 10);
  const before = gets.length;
  await ra.read("p", 20, 10);
  equal(gets.length, before);
  ra.forget("p");
  await ra.read("p", 30, 10);
  equal(gets.length, before + 1);
});

Deno.test("ReadAhead: any mix of reads, in order or not, at once or not, over several objects, gets exactly their bytes", async () => {
  let seed = 3;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  const sizes = [5 * 1024 * 1024 + 7, 300_001, 9 * 1024 * 1024];
  const datas = sizes.map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * (k + 3)) % 251));
  let failEvery = 0;
  const ra = new ReadAhead((name, offset, length) => {
    const data = datas[Number(name)];
    // Now and then a GET fails: its reads reject, and later ones must not be served from it.
    if (++failEvery % 17 === 0) return Promise.reject(new Error("connection reset"));
    return new Promise((r) =>
      setTimeout(
        () => r({ bytes: data.slice(offset, offset + length), total: data.length }),
        next() % 3,
      )
    );
  });
  const cursors = sizes.map(() => 0);
  for (let round = 0; round < 60; round++) {
    const reads = Array.from({ length: 1 + (next() % 6) }, () => {
      const k = next() % sizes.length;
      const size = sizes[k];
      // Mostly onward from the last read of that object, sometimes anywhere, sometimes past the end.
      const kind = next() % 10;
      const offset = kind < 7 ? cursors[k] : kind < 9 ? next() % size : size - (next() % 1000);
      const length = 1 + (next() % (kind < 7 ? 200_000 : 3_000_000));
      if (kind < 7) cursors[k] = offset + length >= size ? 0 : offset + length;
      return { k, offset, length };
    });
    await Promise.all(reads.map(async ({ k, offset, length }) => {
      let got: Uint8Array | number;
      try {
        got = await ra.read(String(k), offset, length);
      } catch {
        got = await ra.read(String(k), offset, length).catch(() => -1);
        if (got === -1) return; // failed twice in a row: nothing served, nothing wrong
      }
      const data = datas[k];
      if (offset + length > data.length) equal(got, data.length, `${k} ${offset}+${length}`);
      else deepStrictEqual(got, data.slice(offset, offset + length), `${k} ${offset}+${length}`);
    }));
  }
});
