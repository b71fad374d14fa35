import assert from "node:assert/strict";
import { isZeroChunk } from "./chunk_batches.ts";

Deno.test("isZeroChunk() finds a single non-zero byte anywhere, at any offset and length", () => {
  const backing = new Uint8Array((3 << 20) + 64);
  for (const length of [65536, 65537, 131071, (1 << 20) + 3, 3 << 20]) {
    for (const shift of [0, 1, 3, 8]) {
      const chunk = backing.subarray(shift, shift + length);
      assert.equal(isZeroChunk(chunk), true, `${length} zeros at offset ${shift}`);
      const spots = [0, 1, 65535, 65536, length >> 1, length - 2, length - 1, 70001 % length];
      for (const at of spots.filter((s) => s < length)) {
        chunk[at] = 0x80;
        assert.equal(isZeroChunk(chunk), false, `byte ${at} of ${length} set, offset ${shift}`);
        chunk[at] = 0;
      }
    }
  }
});

Deno.test("isZeroChunk() leaves chunks below 64 KiB alone", () => {
  assert.equal(isZeroChunk(new Uint8Array(65535)), false);
  assert.equal(isZeroChunk(new Uint8Array(0)), false);
});
