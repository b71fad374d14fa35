import type { Chunker } from "../chunker/mod.ts";
import type { Backpressure } from "./_file_reader.ts";

/**
 * Cuts a byte stream into content-defined chunks, as {@link chunkFile} does a
 * file: each chunk goes to `emit` as a view into `buf` (valid only during the
 * call; `buf` must hold the largest chunk). Unlike a file, a stream has no
 * size to expect, so it ends only when the reader says so. Returns the number
 * of bytes read.
 */
export async function chunkStream(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  buf: Uint8Array,
  chunker: Chunker,
  emit: (chunk: Uint8Array) => Backpressure,
  onRead?: (total: number) => void,
): Promise<number> {
  chunker.reset();
  let total = 0;
  let fill = 0; // bytes in buf
  let start = 0; // start of the current chunk
  let pos = 0; // bytes of buf already scanned
  let pending: Uint8Array | undefined; // read from the stream, not yet in buf
  for (;;) {
    if (!pending) {
      const r = await reader.read();
      if (r.done) break;
      if (r.value.length === 0) continue;
      pending = r.value;
      total += pending.length;
      onRead?.(total);
    }
    if (fill === buf.length) {
      buf.copyWithin(0, start, fill);
      fill -= start;
      pos -= start;
      start = 0;
    }
    const n = Math.min(pending.length, buf.length - fill);
    buf.set(pending.subarray(0, n), fill);
    fill += n;
    pending = n === pending.length ? undefined : pending.subarray(n);
    const view = buf.subarray(0, fill);
    let cut: number;
    while ((cut = chunker.next(view, pos)) !== -1) {
      const pause = emit(view.subarray(start, cut));
      start = pos = cut;
      if (pause) await pause;
    }
    pos = fill;
  }
  if (fill > start) {
    const pause = emit(buf.subarray(start, fill));
    if (pause) await pause;
  }
  return total;
}
