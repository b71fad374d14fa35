import type { Chunker } from "../chunker/mod.ts";
import { type HoleMap, openHoleMap, openReadFile, type ReadStat } from "../platform/mod.ts";

/** Below this size a file's holes are read as zeros: finding them would cost more. */
const HOLE_MIN = 64 * 1024;

/** What `emit` may return: a promise asks the reader to pause until it settles. */
export type Backpressure = void | Promise<void>;

/**
 * Reads a file once with synchronous calls and cuts it into chunks, handing
 * each to `emit` as a view into the reused buffer `buf` (valid only during
 * the call). Returns the number of bytes read: synchronously, unless `emit`
 * asked to pause by returning a promise, in which case reading resumes when
 * it settles and the result is a promise. Small files, which never fill a
 * pack, thus cost no event-loop turn; a 4 GiB file pauses at every full
 * pack, so memory stays bounded whatever the file's size.
 *
 * `buf` must hold the largest chunk, so a chunk is always whole in it; when
 * it fills up, the unfinished tail moves to the front. A short read that
 * reaches the size `lstat` reported is taken as end of file, which saves
 * every small file a second read call.
 *
 * `onRead`, when given, sees every run of bytes as it is read, in order,
 * before it is chunked: the mirror copy is written from the same buffer.
 *
 * With `watch`, a file with fewer blocks allocated than its size has its
 * holes found with SEEK_DATA/SEEK_HOLE: their zeros are put in `buf`, not
 * read, so a 100 MiB file holding 4 KiB costs 4 KiB of reading. The chunks
 * are the same as reading them would give.
 */
export function chunkFile(
  path: string,
  expectedSize: number,
  buf: Uint8Array,
  chunker: Chunker,
  emit: (chunk: Uint8Array) => Backpressure,
  onRead?: (bytes: Uint8Array) => void,
  watch?: ReadWatch,
): number | Promise<number> {
  const file = openReadFile(path);
  let before: ReadStat | undefined;
  let holes: HoleMap | null = null;
  try {
    if (watch) before = file.stat();
    // Fewer blocks than bytes: holes (or compression). Their zeros are not read.
    if (before && before.size >= HOLE_MIN && before.blocks * 512 < before.size) {
      holes = openHoleMap(path, before);
    }
  } catch (err) {
    file.close();
    throw err;
  }
  chunker.reset();
  let total = 0;
  let fill = 0; // bytes in buf
  let start = 0; // start of the current chunk
  let pos = 0; // bytes of buf already scanned
  let eof = false;
  let dataEnd = holes ? holes.nextHole(0) : Infinity; // where the data being read ends
  let holeEnd = 0; // where the hole being skipped ends
  let skipped = 0;
  /** Fills buf[fill..] from the file, or with zeros in a hole; the bytes given. */
  const read = (want: number): number => {
    if (!holes || total < dataEnd) {
      return file.read(buf.subarray(fill, fill + Math.min(want, dataEnd - total)));
    }
    if (holeEnd <= total) {
      const next = holes.nextData(total);
      holeEnd = next < 0 ? Math.max(before!.size, total) : next;
    }
    const n = Math.min(want, holeEnd - total);
    buf.fill(0, fill, fill + n);
    skipped += n;
    if (total + n === holeEnd && n > 0) {
      file.seek(holeEnd);
      dataEnd = holes.nextHole(holeEnd);
    }
    return n;
  };
  const run = (): number | Promise<number> => {
    for (;;) {
      const view = buf.subarray(0, fill);
      let cut: number;
      while ((cut = chunker.next(view, pos)) !== -1) {
        const pause = emit(view.subarray(start, cut));
        start = pos = cut;
        if (pause) return pause.then(guarded, fail);
      }
      pos = fill;
      if (eof) {
        if (fill > start) {
          const pause = emit(buf.subarray(start, fill));
          start = fill;
          if (pause) return pause.then(finish, fail);
        }
        return finish();
      }
      if (fill === buf.length) {
        buf.copyWithin(0, start, fill);
        fill -= start;
        pos -= start;
        start = 0;
      }
      const want = buf.length - fill;
      const n = read(want);
      if (n > 0) {
        onRead?.(buf.subarray(fill, fill + n));
        fill += n;
        total += n;
      }
      if (n === 0 || (n < want && total >= expectedSize)) eof = true;
      watch?.afterRead?.(total);
    }
  };
  const close = () => {
    holes?.close();
    file.close();
  };
  const finish = () => {
    try {
      if (watch) {
        watch.changed = changedSince(before!, file.stat());
        watch.holeBytes = skipped;
      }
    } finally {
      close();
    }
    return total;
  };
  const fail = (err: unknown): never => {
    close();
    throw err;
  };
  const guarded = (): number | Promise<number> => {
    try {
      return run();
    } catch (err) {
      return fail(err);
    }
  };
  return guarded();
}

/** Asks {@link chunkFile} to tell whether the file changed while it was read. */
export interface ReadWatch {
  /** Set once the read ends: did the file's size, mtime or ctime move meanwhile? */
  changed?: boolean;
  /** Set once the read ends: bytes of holes taken as zeros, not read (SEEK_DATA). */
  holeBytes?: number;
  /** Test hook: called after each read call with the bytes read so far (holes' zeros too). */
  afterRead?: (total: number) => void;
}

/**
 * Did the file change between the two stats of its descriptor? The bytes
 * read are not compared with the size: pseudo-files report sizes they do
 * not hold (procfs 0, sysfs 4096), and a real change moves size or times.
 */
function changedSince(a: ReadStat, b: ReadStat): boolean {
  return a.size !== b.size || a.mtimeMs !== b.mtimeMs || a.ctimeMs !== b.ctimeMs;
}

/** What {@link chunkFileStable} read. */
export interface StableRead {
  size: number;
  /** The file changed during both reads: what was stored is the second read, maybe torn. */
  changed: boolean;
}

/**
 * {@link chunkFile}, watching the file: if it changed while it was read,
 * `restart` is called (drop what was emitted) and it is read once more. A
 * file that changes during that read too is kept as read, with `changed`
 * set, so the backup can say so; a third try would be no likelier to win
 * against a file that is always being written.
 */
export function chunkFileStable(
  path: string,
  expectedSize: number,
  buf: Uint8Array,
  chunker: Chunker,
  emit: (chunk: Uint8Array) => Backpressure,
  restart: () => void,
  onRead?: (bytes: Uint8Array) => void,
  afterRead?: (attempt: number, total: number) => void,
): StableRead | Promise<StableRead> {
  const attempt = (no: number) => {
    const watch: ReadWatch = { afterRead: afterRead && ((total) => afterRead(no, total)) };
    const size = chunkFile(path, expectedSize, buf, chunker, emit, onRead, watch);
    return then(size, (n) => ({ size: n, changed: watch.changed === true }));
  };
  return then(attempt(1), (first) => {
    if (!first.changed) return first;
    restart();
    return attempt(2);
  });
}

function then<T, R>(v: T | Promise<T>, f: (t: T) => R | Promise<R>): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/** Reads a file once into `buf`, handing each run of bytes to `onRead`; returns the size. */
export function readFile(
  path: string,
  expectedSize: number,
  buf: Uint8Array,
  onRead: (bytes: Uint8Array) => void,
): number {
  const file = openReadFile(path);
  try {
    let total = 0;
    for (;;) {
      const n = file.read(buf);
      if (n > 0) onRead(buf.subarray(0, n));
      total += n;
      if (n === 0 || (n < buf.length && total >= expectedSize)) return total;
    }
  } finally {
    file.close();
  }
}
