import assert from "node:assert/strict";
import { gearTable } from "./mod.ts";

const seedA = new Uint8Array(32).fill(1);
const seedB = new Uint8Array(32).fill(2);

Deno.test("gearTable() gives the same 256 entries for the same seed", () => {
  const t = gearTable(seedA);
  assert.equal(t.length, 256);
  assert.deepStrictEqual(gearTable(seedA.slice()), t);
});

Deno.test("gearTable() gives unrelated tables for different seeds", () => {
  const a = gearTable(seedA);
  const b = gearTable(seedB);
  let same = 0;
  for (let i = 0; i < 256; i++) if (a[i] === b[i]) same++;
  assert.equal(same, 0);
});

Deno.test("gearTable() entries look uniformly random", () => {
  const t = gearTable(seedA);
  assert.equal(new Set(t).size, 256);
  // Each bit should be set in about half the entries (binomial(256, 1/2): sd 8).
  for (let bit = 0; bit < 32; bit++) {
    let ones = 0;
    for (const v of t) ones += (v >>> bit) & 1;
    assert.ok(ones > 128 - 48 && ones < 128 + 48, `bit ${bit} set in ${ones}/256 entries`);
  }
});

Deno.test("gearTable() is pinned to its documented derivation", () => {
  // Changing the derivation would move every chunk boundary and defeat dedup
  // against existing repositories, so it must never change by accident.
  const t = gearTable(new Uint8Array(32));
  assert.deepStrictEqual(
    Array.from(t.subarray(0, 4), (v) => v.toString(16).padStart(8, "0")),
    PINNED_PREFIX,
  );
});

// HMAC-SHA-256(key = 32 zero bytes, "cairn chunker gear table v1" || 00000000),
// cross-checked with `openssl dgst -sha256 -mac HMAC`.
const PINNED_PREFIX = ["00df9191", "7e3d6431", "b7b9c0f9", "fa9710e0"];

Deno.test("gearTable() rejects seeds shorter than 32 bytes", () => {
  assert.throws(() => gearTable(new Uint8Array(31)), RangeError);
  assert.throws(() => gearTable(new Uint8Array(0)), RangeError);
});
