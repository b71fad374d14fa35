import { createHmac } from "node:crypto";
import { assertEquals, assertNotEquals } from "../testing/asserts.ts";
import { fromHex, toHex, utf8 } from "./encoding.ts";
import { equalBytes, keyedId, sha256 } from "./hash.ts";

Deno.test("sha256() matches the published test vector", () => {
  assertEquals(
    toHex(sha256(utf8("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("keyedId() is HMAC-SHA-256 (RFC 4231 test case 2)", () => {
  assertEquals(
    toHex(keyedId(utf8("Jefe"), utf8("what do ya want for nothing?"))),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});

Deno.test("keyedId() depends on the key", () => {
  const data = utf8("same content");
  assertNotEquals(
    toHex(keyedId(new Uint8Array(32), data)),
    toHex(keyedId(new Uint8Array(32).fill(1), data)),
  );
});

Deno.test("equalBytes() compares content and length", () => {
  assertEquals(equalBytes(fromHex("0102"), fromHex("0102")), true);
  assertEquals(equalBytes(fromHex("0102"), fromHex("0103")), false);
  assertEquals(equalBytes(fromHex("01"), fromHex("0102")), false);
});

Deno.test("keyedId() equals createHmac for keys of every length class and inputs of many sizes", () => {
  // Keys shorter than, equal to and longer than SHA-256's 64-byte block (hashed first), and
  // switching between keys, which keyedId caches one at a time.
  const keys = [0, 1, 32, 63, 64, 65, 200].map((n) => new Uint8Array(n).map((_, i) => i * 7 + n));
  for (const size of [0, 1, 55, 64, 1000, 70_000]) {
    const data = new Uint8Array(size).map((_, i) => (i * 31) ^ size);
    for (const key of [...keys, ...keys.reverse()]) {
      assertEquals(
        toHex(keyedId(key, data)),
        createHmac("sha256", key).update(data).digest("hex"),
        `key of ${key.length} bytes, ${size} bytes of data`,
      );
    }
  }
});

Deno.test("keyedId() notices a key changed in place", () => {
  const key = new Uint8Array(32).fill(5);
  const data = utf8("content");
  const before = toHex(keyedId(key, data));
  key[0] = 6;
  assertEquals(toHex(keyedId(key, data)), createHmac("sha256", key).update(data).digest("hex"));
  assertNotEquals(toHex(keyedId(key, data)), before);
});

Deno.test("keyedId() equals createHmac for random keys and data, keys switching and reused", () => {
  // A seeded generator, so a failure can be replayed.
  let seed = 0x9e3779b9;
  const next = () => (seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0);
  const bytes = (n: number) => new Uint8Array(n).map(() => next() & 0xff);
  const keys = Array.from({ length: 12 }, () => bytes(next() % 160));
  for (let round = 0; round < 400; round++) {
    const key = keys[next() % keys.length];
    // Views at odd offsets of larger buffers too: only the view's bytes count.
    const size = next() % 4 === 0 ? next() % 300_000 : next() % 200;
    const backing = bytes(size + 7);
    const data = backing.subarray(next() % 7).subarray(0, size);
    const keyView = round % 5 === 0 ? new Uint8Array([...bytes(3), ...key]).subarray(3) : key;
    assertEquals(
      toHex(keyedId(keyView, data)),
      createHmac("sha256", key).update(data).digest("hex"),
      `round ${round}: key of ${key.length} bytes, ${size} bytes of data`,
    );
  }
});
