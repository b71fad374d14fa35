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
