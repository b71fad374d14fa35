/** Size limits of content-defined chunks, in bytes. */
export interface ChunkerParams {
  /** No cut point is placed before this many bytes (except at the end of a file). */
  min: number;
  /** Target size; a power of two, because it picks how many hash bits must be zero. */
  avg: number;
  /** A cut is forced at this many bytes. */
  max: number;
}

/** Restic-like sizes: big enough to keep the index small, small enough to dedup edits. */
export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = Object.freeze({
  min: 512 * 1024,
  avg: 1024 * 1024,
  max: 8 * 1024 * 1024,
});

/** Below this the skipped prefix would be shorter than the 32-byte hash window. */
const MIN_MIN = 64;
/** Chunks are held in memory whole, and packs should hold several of them. */
const MAX_MAX = 64 * 1024 * 1024;

/** Checks chunk sizes and returns a fresh copy of them; throws `RangeError` on nonsense. */
export function validateChunkerParams(p: ChunkerParams): ChunkerParams {
  const { min, avg, max } = p;
  for (const [name, v] of [["min", min], ["avg", avg], ["max", max]] as const) {
    if (!Number.isSafeInteger(v)) {
      throw new RangeError(`Cannot use chunker params: ${name} (${v}) is not an integer`);
    }
  }
  if (min < MIN_MIN) {
    throw new RangeError(`Cannot use chunker params: min (${min}) is below ${MIN_MIN}`);
  }
  if (avg & (avg - 1)) {
    throw new RangeError(`Cannot use chunker params: avg (${avg}) is not a power of two`);
  }
  if (!(min < avg && avg < max)) {
    throw new RangeError(
      `Cannot use chunker params: need min < avg < max, got ${min} / ${avg} / ${max}`,
    );
  }
  if (max > MAX_MAX) {
    throw new RangeError(`Cannot use chunker params: max (${max}) is above ${MAX_MAX}`);
  }
  return { min, avg, max };
}
