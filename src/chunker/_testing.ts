// Helpers shared by the chunker tests.
import type { Chunker } from "./mod.ts";

/** Deterministic pseudo-random bytes (xorshift32), so failures reproduce. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = (seed | 0) || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, length);
}

/**
 * Lengths of the chunks `chunker` cuts `data` into, feeding it in pieces of
 * the given sizes (cycled; a size of 0 feeds an empty buffer), or whole.
 */
export function chunkLengths(chunker: Chunker, data: Uint8Array, pieces?: number[]): number[] {
  chunker.reset();
  const lengths: number[] = [];
  let chunkStart = 0; // offset in data of the current chunk
  let offset = 0; // offset in data of the current buffer
  let k = 0;
  while (offset < data.length) {
    const size = pieces && pieces.length ? pieces[k++ % pieces.length] : data.length;
    const buf = data.subarray(offset, offset + size);
    let pos = 0;
    for (let cut; (cut = chunker.next(buf, pos)) !== -1; pos = cut) {
      lengths.push(offset + cut - chunkStart);
      chunkStart = offset + cut;
    }
    offset += buf.length;
    // An all-empty piece list would loop forever; feed the rest whole then.
    if (pieces && pieces.every((p) => p === 0)) pieces = undefined;
  }
  if (chunkStart < data.length) lengths.push(data.length - chunkStart);
  return lengths;
}
