import type { Chunker } from "../chunker/mod.ts";

/**
 * Reads a file once with synchronous calls and cuts it into chunks, handing
 * each to `emit` as a view into the reused buffer `buf` (valid only during
 * the call). Returns the number of bytes read.
 *
 * `buf` must hold the largest chunk, so a chunk is always whole in it; when
 * it fills up, the unfinished tail moves to the front. A short read that
 * reaches the size `lstat` reported is taken as end of file, which saves
 * every small file a second read call.
 *
 * `onRead`, when given, sees every run of bytes as it is read, in order,
 * before it is chunked: the mirror copy is written from the same buffer.
 */
export function chunkFile(
  path: string,
  expectedSize: number,
  buf: Uint8Array,
  chunker: Chunker,
  emit: (chunk: Uint8Array) => void,
  onRead?: (bytes: Uint8Array) => void,
): number {
  const file = Deno.openSync(path, { read: true });
  try {
    chunker.reset();
    let total = 0;
    let fill = 0;
    let start = 0;
    for (;;) {
      if (fill === buf.length) {
        buf.copyWithin(0, start, fill);
        fill -= start;
        start = 0;
      }
      const want = buf.length - fill;
      const n = file.readSync(buf.subarray(fill)) ?? 0;
      if (n > 0) {
        onRead?.(buf.subarray(fill, fill + n));
        let pos = fill;
        fill += n;
        total += n;
        const view = buf.subarray(0, fill);
        let cut: number;
        while ((cut = chunker.next(view, pos)) !== -1) {
          emit(view.subarray(start, cut));
          start = pos = cut;
        }
      }
      if (n === 0 || (n < want && total >= expectedSize)) break;
    }
    if (fill > start) emit(buf.subarray(start, fill));
    return total;
  } finally {
    file.close();
  }
}

/** Reads a file once into `buf`, handing each run of bytes to `onRead`; returns the size. */
export function readFile(
  path: string,
  expectedSize: number,
  buf: Uint8Array,
  onRead: (bytes: Uint8Array) => void,
): number {
  const file = Deno.openSync(path, { read: true });
  try {
    let total = 0;
    for (;;) {
      const n = file.readSync(buf) ?? 0;
      if (n > 0) onRead(buf.subarray(0, n));
      total += n;
      if (n === 0 || (n < buf.length && total >= expectedSize)) return total;
    }
  } finally {
    file.close();
  }
}
