import assert from "node:assert/strict";
import { DEFAULT_CHUNKER_PARAMS, validateChunkerParams } from "./mod.ts";

Deno.test("DEFAULT_CHUNKER_PARAMS are 512 KiB / 1 MiB / 8 MiB and valid", () => {
  assert.deepStrictEqual(DEFAULT_CHUNKER_PARAMS, { min: 512 << 10, avg: 1 << 20, max: 8 << 20 });
  assert.deepStrictEqual(validateChunkerParams(DEFAULT_CHUNKER_PARAMS), DEFAULT_CHUNKER_PARAMS);
});

Deno.test("validateChunkerParams() returns a copy of sensible params", () => {
  const p = { min: 64, avg: 128, max: 129 };
  const v = validateChunkerParams(p);
  assert.deepStrictEqual(v, p);
  p.min = 1;
  assert.deepStrictEqual(v.min, 64);
});

Deno.test("validateChunkerParams() rejects nonsense with a RangeError", () => {
  const bad = [
    { min: 63, avg: 128, max: 256 }, // min below the hash window margin
    { min: 64, avg: 1000, max: 2048 }, // avg not a power of two
    { min: 256, avg: 256, max: 512 }, // min == avg
    { min: 512, avg: 256, max: 1024 }, // min > avg
    { min: 64, avg: 256, max: 256 }, // avg == max
    { min: 1 << 20, avg: 1 << 22, max: (64 << 20) + 1 }, // max above 64 MiB
    { min: 64.5, avg: 128, max: 256 }, // not an integer
    { min: 64, avg: 128, max: NaN },
    { min: 64, avg: 0, max: 256 },
  ];
  for (const p of bad) assert.throws(() => validateChunkerParams(p), RangeError);
});
