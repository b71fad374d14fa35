import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Chunker, type ChunkerParams, DEFAULT_CHUNKER_PARAMS, gearTable } from "./mod.ts";
import { chunkLengths, randomBytes } from "./_testing.ts";

// The point of content-defined chunking: an edit only disturbs the chunks
// around it, so every other chunk of an edited file deduplicates.

const table = gearTable(new Uint8Array(32).fill(7));

function chunkHashes(params: ChunkerParams, data: Uint8Array): string[] {
  const hashes: string[] = [];
  let offset = 0;
  for (const length of chunkLengths(new Chunker(table, params), data)) {
    hashes.push(createHash("sha256").update(data.subarray(offset, offset += length)).digest("hex"));
  }
  return hashes;
}

/** Chunks of `edited` that `original` does not have. */
function newChunks(params: ChunkerParams, original: Uint8Array, edited: Uint8Array): number {
  const known = new Set(chunkHashes(params, original));
  return chunkHashes(params, edited).filter((h) => !known.has(h)).length;
}

function splice(data: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length - remove + insert.length);
  out.set(data.subarray(0, at));
  out.set(insert, at);
  out.set(data.subarray(at + remove), at + insert.length);
  return out;
}

const original = randomBytes(32 << 20, 1234);
const middle = 16 << 20;

Deno.test("inserting 100 bytes mid-file changes at most 2 chunks of 32 MiB", () => {
  const total = chunkHashes(DEFAULT_CHUNKER_PARAMS, original).length;
  assert.ok(total >= 20, `only ${total} chunks`);
  const edited = splice(original, middle, 0, randomBytes(100, 99));
  assert.ok(newChunks(DEFAULT_CHUNKER_PARAMS, original, edited) <= 2);
});

Deno.test("deleting 100 bytes mid-file changes at most 2 chunks of 32 MiB", () => {
  const edited = splice(original, middle, 100, new Uint8Array(0));
  assert.ok(newChunks(DEFAULT_CHUNKER_PARAMS, original, edited) <= 2);
});

Deno.test("small edits anywhere change about one chunk each", () => {
  const params = { min: 2048, avg: 8192, max: 65536 };
  const data = original.subarray(0, 4 << 20);
  const counts: number[] = [];
  for (let k = 0; k < 40; k++) {
    const at = (k * 104_729 + 12_345) % data.length;
    const edited = k % 2
      ? splice(data, at, 1 + k, new Uint8Array(0))
      : splice(data, at, 0, randomBytes(1 + k * 5, k));
    counts.push(newChunks(params, data, edited));
  }
  // Usually only the edited chunk is new. When the edit moves a cut point, the
  // min/avg thresholds are measured from a different start, so now and then it
  // takes a few chunks before the cut points fall back in step (a known cost
  // of normalized chunking; about 3% of edits at these params).
  const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
  assert.ok(counts.every((c) => c >= 1 && c <= 10), `new chunks per edit: ${counts}`);
  assert.ok(mean <= 1.5, `mean ${mean} new chunks per edit: ${counts}`);
});
