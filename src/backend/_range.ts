/**
 * Turns a {@link ByteRange} into absolute positions, the same way for every
 * backend, so the conformance suite can pin one behaviour down.
 *
 * @module
 */

import type { ByteRange, FileType } from "./backend.ts";

/** Absolute `[start, end)` positions of a range within a file of `size` bytes. */
export interface ResolvedRange {
  start: number;
  end: number;
}

/**
 * Resolves `range` against `size`, rejecting any range that is not wholly
 * inside the file: a short read would otherwise look like a truncated pack.
 */
export function resolveRange(
  type: FileType,
  name: string,
  range: ByteRange,
  size: number,
): ResolvedRange {
  assertValidRange(range);
  const start = range.offset < 0 ? size + range.offset : range.offset;
  const end = start + range.length;
  if (start < 0 || end > size) {
    throw new RangeError(
      `Cannot load ${type} file "${name}": range ${range.offset}+${range.length} ` +
        `lies outside its ${size} bytes`,
    );
  }
  return { start, end };
}

/** Rejects ranges that could never be valid, whatever the file's size. */
export function assertValidRange(range: ByteRange): void {
  if (!Number.isSafeInteger(range.offset) || !Number.isSafeInteger(range.length)) {
    throw new TypeError(`Invalid byte range ${range.offset}+${range.length}: not integers`);
  }
  if (range.length < 0) {
    throw new RangeError(`Invalid byte range ${range.offset}+${range.length}: negative length`);
  }
}
