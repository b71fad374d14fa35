/**
 * Where the reading thread of a split image spends its time: reading the
 * image alone, then reading and cutting it (the content-defined chunker),
 * then also handing each chunk to a ChunkBatcher, which tells all-zero
 * chunks apart and gathers the others into batches (sent nowhere), all on
 * one thread, as a split file's reader works.
 *
 *   deno run -A bench/image_reader_probe.ts IMAGE [READ_MIB]
 *
 * IMAGE is a device or image file (the image bench's loop device); READ_MIB
 * the read size (default 8, the chunker's maximum chunk, as the worker reads).
 * Each pass reads the whole image through the page cache; run it twice to
 * see a warm cache.
 */
import { Chunker, DEFAULT_CHUNKER_PARAMS, gearTable } from "../src/chunker/mod.ts";
import { BatchWindow, ChunkBatcher } from "../src/archiver/mod.ts";
import { cpuUsage } from "node:process";

const [path, mib] = Deno.args;
if (!path) throw new Error("usage: image_reader_probe.ts IMAGE [READ_MIB]");
const readSize = Number(mib ?? 8) * 1024 * 1024;
const chunker = new Chunker(gearTable(new Uint8Array(32)), DEFAULT_CHUNKER_PARAMS);

function pass(
  cut: boolean,
  batch: boolean,
): { s: number; cpuS: number; bytes: number; chunks: number } {
  const window = new BatchWindow(1);
  // Each batch is done at once: the window never waits.
  const batcher = new ChunkBatcher(window, () => window.release());
  const t0 = performance.now();
  const cpu0 = cpuUsage();
  using f = Deno.openSync(path, { read: true });
  const buf = new Uint8Array(Math.max(readSize, DEFAULT_CHUNKER_PARAMS.max));
  chunker.reset();
  let bytes = 0;
  let chunks = 0;
  let fill = 0;
  let start = 0;
  let pos = 0;
  for (;;) {
    if (fill === buf.length) {
      buf.copyWithin(0, start, fill);
      fill -= start;
      pos -= start;
      start = 0;
    }
    const n = f.readSync(buf.subarray(fill, Math.min(buf.length, fill + readSize))) ?? 0;
    if (n === 0) break;
    bytes += n;
    if (!cut) continue;
    fill += n;
    const view = buf.subarray(0, fill);
    let c: number;
    while ((c = chunker.next(view, pos)) !== -1) {
      if (batch) batcher.add(view.subarray(start, c));
      chunks++;
      start = pos = c;
    }
    pos = fill;
  }
  if (batch) batcher.end();
  const cpu = cpuUsage(cpu0);
  return { s: (performance.now() - t0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6, bytes, chunks };
}

for (
  const [name, cut, copy] of [["read", false, false], ["read + cut", true, false], [
    "read + cut + batch",
    true,
    true,
  ]] as const
) {
  const r = pass(cut, copy);
  console.log(
    `${name}: ${r.s.toFixed(1)} s, ${(r.bytes / 1e6 / r.s).toFixed(0)} MB/s; CPU ` +
      `${r.cpuS.toFixed(2)} s, ${(r.bytes / 1e6 / r.cpuS).toFixed(0)} MB/s of CPU` +
      (cut ? `, ${r.chunks} chunks` : ""),
  );
}
