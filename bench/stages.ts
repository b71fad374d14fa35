/**
 * Throughput of each stage of a first backup on one core, over a tree's own
 * files, so the backup's time can be set beside what its stages allow:
 *
 *   deno run -A bench/stages.ts [TREE] [MIB]
 *
 * Each figure is the quickest of three passes, in CPU time (this process's
 * user + system), which a loaded machine disturbs far less than wall time.
 * Reads up to MIB (default 256) of TREE's files (default the 6.1.170 kernel
 * tree) into memory, then times, each on this thread: the cut (the
 * content-defined chunker over every file), the keyed id (HMAC-SHA-256 of
 * every chunk), zstd at levels 1 and 3 over segments of ~512 KiB of
 * concatenated files as the pack writer makes them, the round-trip check
 * (decompress + compare) the writer does before it trusts a compressed
 * segment, both as the pack writer's encodeSegment does them, and AES-256-GCM
 * over the compressed segments. MB/s are of the
 * files' bytes (the input of the backup), so the stages add up as
 * 1/total = sum of 1/stage. kernel_vs_restic.ts prints the same once per run.
 */
import { Buffer } from "node:buffer";
import { cpuUsage } from "node:process";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { Chunker, DEFAULT_CHUNKER_PARAMS, gearTable } from "../src/chunker/mod.ts";
import { keyedId } from "../src/crypto/mod.ts";
import { encodeSegment } from "../src/repo/mod.ts";

/** Segments of small files, as the pack writer gathers them (SEGMENT_TARGET). */
const SEGMENT = 512 * 1024;

/** Up to `limit` bytes of the regular files under `dir`, in walk order. */
function readTree(dir: string, limit: number): Uint8Array[] {
  const files: Uint8Array[] = [];
  let total = 0;
  const walk = (d: string): boolean => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory && walk(p)) return true;
      if (!e.isFile) continue;
      const bytes = Deno.readFileSync(p);
      files.push(bytes);
      total += bytes.length;
      if (total >= limit) return true;
    }
    return false;
  };
  walk(dir);
  return files;
}

/** The chunks a backup would hash: each file cut by the chunker. */
function chunksOf(files: Uint8Array[]): Uint8Array[] {
  const chunker = new Chunker(gearTable(new Uint8Array(32).fill(1)), DEFAULT_CHUNKER_PARAMS);
  const chunks: Uint8Array[] = [];
  for (const f of files) {
    chunker.reset();
    let pos = 0;
    for (let cut; (cut = chunker.next(f, pos)) !== -1; pos = cut) chunks.push(f.subarray(pos, cut));
    if (pos < f.length) chunks.push(f.subarray(pos));
  }
  return chunks;
}

/** Small chunks concatenated into segments of about SEGMENT bytes; big ones alone. */
function segmentsOf(chunks: Uint8Array[]): Uint8Array[] {
  const segs: Uint8Array[] = [];
  let open: Uint8Array[] = [];
  let size = 0;
  const close = () => {
    if (size === 0) return;
    const s = new Uint8Array(size);
    let at = 0;
    for (const c of open) s.set(c, (at += c.length) - c.length);
    segs.push(s);
    open = [];
    size = 0;
  };
  for (const c of chunks) {
    if (c.length >= SEGMENT / 2) segs.push(c);
    else {
      open.push(c);
      size += c.length;
      if (size >= SEGMENT) close();
    }
  }
  close();
  return segs;
}

export interface StageFigure {
  stage: string;
  /** Input (file) bytes per second of one core's CPU time, in MB/s. */
  mbps: number;
  note?: string;
}

/** One core's throughput of each stage over `files` (their bytes: `bytes`). */
export async function stageThroughputs(files: Uint8Array[]): Promise<StageFigure[]> {
  const bytes = files.reduce((a, f) => a + f.length, 0);
  const out: StageFigure[] = [];
  const time = async (stage: string, f: () => unknown, note?: () => string) => {
    await f(); // warm up the JIT and the native paths once
    let best = Infinity; // CPU microseconds of the quickest of three passes
    for (let pass = 0; pass < 3; pass++) {
      const c0 = cpuUsage();
      await f();
      const c = cpuUsage(c0);
      best = Math.min(best, c.user + c.system);
    }
    out.push({ stage, mbps: bytes / best, note: note?.() });
  };
  let chunks: Uint8Array[] = [];
  await time("cut (chunker)", () => chunks = chunksOf(files), () => `${chunks.length} chunks`);
  const key = new Uint8Array(32).fill(2);
  await time("keyed id (HMAC-SHA-256 per chunk)", () => {
    for (const c of chunks) keyedId(key, c);
  });
  const segs = segmentsOf(chunks);
  const compressed: Record<number, Uint8Array[]> = {};
  for (const level of [1, 3]) {
    await time(`zstd -${level} (segments of ~512 KiB)`, () => {
      compressed[level] = segs.map((s) =>
        zstdCompressSync(s, { params: { [constants.ZSTD_c_compressionLevel]: level } })
      );
    }, () => {
      const z = compressed[level].reduce((a, s) => a + s.length, 0);
      return `${(100 * z / bytes).toFixed(1)}% of the input`;
    });
  }
  await time("zstd round-trip check (decompress + compare)", () => {
    compressed[1].forEach((z, i) => Buffer.compare(zstdDecompressSync(z), segs[i]));
  });
  await time("encodeSegment -1 (the pack writer's: compress + check + copy)", () => {
    for (const s of segs) encodeSegment(s, 1);
  });
  const aes = await crypto.subtle.importKey("raw", new Uint8Array(32), "AES-GCM", false, [
    "encrypt",
  ]);
  const iv = new Uint8Array(12);
  await time("AES-256-GCM seal (zstd -1 output)", async () => {
    for (const z of compressed[1]) {
      await crypto.subtle.encrypt({ name: "AES-GCM", iv }, aes, z as BufferSource);
    }
  });
  return out;
}

/** The figures as lines: MB/s of one core, and times `cores`. */
export function stageLines(figures: StageFigure[], cores: number): string[] {
  const lines = figures.map((f) =>
    `  ${f.stage}: ${f.mbps.toFixed(0)} MB/s one core, ${(f.mbps * cores).toFixed(0)} x ${cores}` +
    (f.note ? ` (${f.note})` : "")
  );
  // The pack writer's stages: encodeSegment stands for zstd -1 and its check.
  const sum = figures.filter((f) => !f.stage.startsWith("zstd"))
    .reduce((a, f) => a + 1 / f.mbps, 0);
  lines.push(
    `  cut + id + encodeSegment + seal in a row: ${(1 / sum).toFixed(0)} MB/s one core, ` +
      `${(cores / sum).toFixed(0)} x ${cores}`,
  );
  return lines;
}

/** Reads `limit` bytes of `dir` and measures its stages: the lines to print. */
export async function measureStages(dir: string, limit: number): Promise<string[]> {
  const files = readTree(dir, limit);
  const bytes = files.reduce((a, f) => a + f.length, 0);
  const cores = navigator.hardwareConcurrency;
  return [
    `stage throughput over ${(bytes / 2 ** 20).toFixed(0)} MiB of ${dir} (${files.length} files):`,
    ...stageLines(await stageThroughputs(files), cores),
  ];
}

if (import.meta.main) {
  const corpus = Deno.env.get("CAIRN_CORPUS") ?? `${Deno.env.get("HOME")}/.cache/cairn-corpus`;
  const dir = Deno.args[0] ?? `${corpus}/linux-6.1.170`;
  const limit = Number(Deno.args[1] ?? 256) * 2 ** 20;
  for (const line of await measureStages(dir, limit)) console.log(line);
}
