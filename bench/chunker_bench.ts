// Throughput of the content-defined chunker over random data.
//
//   deno bench --allow-all bench/chunker_bench.ts   # Deno.bench statistics
//   deno run bench/chunker_bench.ts                 # one-off MB/s figures
import {
  Chunker,
  type ChunkerParams,
  DEFAULT_CHUNKER_PARAMS,
  gearTable,
} from "../src/chunker/mod.ts";

const SIZE = 64 << 20;

/** Random data, filled in the 64 KiB slices getRandomValues allows. */
function randomData(size: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let o = 0; o < size; o += 65536) crypto.getRandomValues(data.subarray(o, o + 65536));
  return data;
}

const data = randomData(SIZE);
const table = gearTable(crypto.getRandomValues(new Uint8Array(32)));

/** Cuts all of `data` into chunks; returns the chunk count so the work is not optimized away. */
function chunkAll(chunker: Chunker, buf: Uint8Array, bufSize: number): number {
  chunker.reset();
  let count = 0;
  for (let offset = 0; offset < buf.length; offset += bufSize) {
    const piece = buf.subarray(offset, offset + bufSize);
    for (let pos = 0, cut; (cut = chunker.next(piece, pos)) !== -1; pos = cut) count++;
  }
  return count + 1;
}

const CASES: [name: string, params: ChunkerParams, bufSize: number][] = [
  ["default params, one 64 MiB buffer", DEFAULT_CHUNKER_PARAMS, SIZE],
  ["default params, 1 MiB reads", DEFAULT_CHUNKER_PARAMS, 1 << 20],
  // min 64 leaves almost nothing to skip: the raw gear-hash speed.
  ["min 64 / avg 1 MiB, every byte hashed", { min: 64, avg: 1 << 20, max: 8 << 20 }, SIZE],
];

for (const [name, params, bufSize] of CASES) {
  const chunker = new Chunker(table, params);
  Deno.bench({
    name: `Chunker ${name} (${SIZE >> 20} MiB)`,
    group: "chunker",
    baseline: bufSize === SIZE && params === DEFAULT_CHUNKER_PARAMS,
    fn(b) {
      b.start();
      chunkAll(chunker, data, bufSize);
      b.end();
    },
  });
}

if (import.meta.main) {
  for (const [name, params, bufSize] of CASES) {
    const chunker = new Chunker(table, params);
    chunkAll(chunker, data, bufSize); // warm up the JIT
    const runs = 5;
    let best = Infinity;
    let chunks = 0;
    for (let r = 0; r < runs; r++) {
      const t0 = performance.now();
      chunks = chunkAll(chunker, data, bufSize);
      best = Math.min(best, performance.now() - t0);
    }
    const mbps = SIZE / 1e6 / (best / 1e3);
    console.log(
      `${name}: ${mbps.toFixed(0)} MB/s (best of ${runs}, ${SIZE >> 20} MiB, ${chunks} chunks)`,
    );
  }
}
