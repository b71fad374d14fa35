/**
 * Where memory goes, per thread (docs/PERFORMANCE.md): with
 * `CAIRN_MEMORY_TRACE=DIR` set, each thread that calls {@link traceMemory}
 * samples its own isolate every 50 ms and keeps the peaks in
 * `DIR/THREAD-ID.json`: the JS heap (used and reserved, from V8's heap
 * statistics), the external memory V8 is told of (ArrayBuffers: file
 * buffers, packs, segments), and the process's RSS at the time. Unset, it
 * costs one environment lookup. A diagnostic, never on in normal runs; a
 * worker that is terminated keeps the peaks of its last sample.
 */
import { getHeapStatistics } from "node:v8";

/** The peaks one thread recorded, as written to its file. */
export interface MemoryPeaks {
  thread: string;
  /** Peak bytes of live JS objects. */
  heapUsed: number;
  /** Peak bytes V8 reserved for the JS heap (what it takes from the OS). */
  heapTotal: number;
  /** Peak bytes of ArrayBuffers and other memory outside the heap that V8 accounts. */
  external: number;
  /** The process's peak RSS as this thread saw it (shared by every thread). */
  rss: number;
  /** V8's heap size limit for this isolate. */
  heapLimit: number;
  samples: number;
}

const ENV = "CAIRN_MEMORY_TRACE";
const EVERY_MS = 50;

let traced = false;

/** Starts sampling this thread's memory (once per thread) if `CAIRN_MEMORY_TRACE` names a directory. */
export function traceMemory(thread: string): void {
  if (traced) return;
  traced = true;
  let dir: string | undefined;
  try {
    dir = Deno.env.get(ENV);
  } catch {
    return; // no env permission: no trace
  }
  if (!dir) return;
  const file = `${dir}/${thread}-${crypto.randomUUID().slice(0, 8)}.json`;
  const peaks: MemoryPeaks = {
    thread,
    heapUsed: 0,
    heapTotal: 0,
    external: 0,
    rss: 0,
    heapLimit: getHeapStatistics().heap_size_limit,
    samples: 0,
  };
  const sample = () => {
    const m = Deno.memoryUsage();
    let grew = false;
    for (const k of ["heapUsed", "heapTotal", "external", "rss"] as const) {
      if (m[k] > peaks[k]) [peaks[k], grew] = [m[k], true];
    }
    peaks.samples++;
    if (grew || peaks.samples % 20 === 1) Deno.writeTextFileSync(file, JSON.stringify(peaks));
  };
  Deno.mkdirSync(dir, { recursive: true });
  sample();
  Deno.unrefTimer(setInterval(sample, EVERY_MS));
  globalThis.addEventListener("unload", sample);
}

/** The peaks every traced thread wrote into `dir`. */
export function readMemoryTrace(dir: string): MemoryPeaks[] {
  const out: MemoryPeaks[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (e.name.endsWith(".json")) out.push(JSON.parse(Deno.readTextFileSync(`${dir}/${e.name}`)));
  }
  return out.sort((a, b) => a.thread.localeCompare(b.thread));
}

/**
 * Asks V8 for a full garbage collection, when the process runs with
 * `--v8-flags=--expose-gc` (the release build and the benches do), else
 * does nothing. For the few places where much memory has just become
 * garbage that V8 does not see (the 46 MiB of Argon2's WASM memory after a
 * key is opened; a worker's pack buffers after each pack): V8 would keep it
 * until its heap grows enough for a collection of its own, which in a small
 * heap can be never.
 */
export function releaseMemory(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Bytes of buffers made natively and dropped since the last collection of the young generation. */
let youngGarbage = 0;

/**
 * How much of {@link nativeGarbage} waits before a collection: 4 MiB. V8
 * itself collects for external bytes only after 64 MiB more of them, which a
 * file-saver worker, whose JS heap barely grows, reached between any two of
 * its own collections (its buffers peaked at 70 MiB against 15 MiB live).
 */
const YOUNG_GARBAGE_LIMIT = 4 * 1024 * 1024;

/**
 * Counts `bytes` of buffers made by native code (zstd's output in node:zlib)
 * that the caller is done with, and collects V8's young generation once
 * {@link YOUNG_GARBAGE_LIMIT} of them have gathered since the last time
 * (with `--expose-gc`, else never). Such buffers cannot be freed early by
 * detaching them: their memory goes with the object holding them, which a
 * minor collection frees in about a millisecond. Call it where the buffers
 * counted before are dead; the ones counted now may still be in use.
 */
export function nativeGarbage(bytes: number): void {
  if (youngGarbage >= YOUNG_GARBAGE_LIMIT) {
    youngGarbage = 0;
    (globalThis as { gc?: (o: { type: "minor" }) => void }).gc?.({ type: "minor" });
  }
  youngGarbage += bytes;
}

/** How often {@link boundHeap} looks at the heap. */
const BOUND_EVERY_MS = 100;
/** The least growth {@link boundHeap} lets the heap have above what was live: 8 MiB. */
const BOUND_MIN_GROWTH = 8 * 1024 * 1024;

let bounded = false;

/**
 * Keeps this thread's JS heap near what is live, with `--expose-gc` (else
 * does nothing): every 100 ms, once the heap holds more than half as much
 * again as was live after the last collection (and at least 8 MiB more), it
 * asks for a full collection. V8 alone lets a heap with a 4 GiB limit grow
 * to four times its live size first: a kernel-tree backup's main thread
 * held 15–20 MiB live and reached 70–80 MiB. The growth allowed is
 * proportional, as V8's is, so a large live heap (a million files) is not
 * collected much more often than V8 would.
 */
export function boundHeap(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (bounded || !gc) return;
  bounded = true;
  let live = getHeapStatistics().used_heap_size;
  Deno.unrefTimer(setInterval(() => {
    const used = getHeapStatistics().used_heap_size;
    if (used < live + Math.max(BOUND_MIN_GROWTH, live / 2)) return;
    gc();
    live = getHeapStatistics().used_heap_size;
  }, BOUND_EVERY_MS));
}
