/// <reference lib="deno.worker" />
/**
 * A file-saver worker: reads files, cuts them into chunks, hashes each, and
 * packs the chunks the repository does not have yet (compress, verify,
 * encrypt, write). Runs the CPU-heavy part of a backup off the main thread.
 */
import { openBackend } from "../backend/mod.ts";
import { Chunker, gearTable } from "../chunker/mod.ts";
import { keyedId, toHex } from "../crypto/mod.ts";
import { type PackInfo, PackWriter } from "../repo/mod.ts";
import { chunkFile } from "./_file_reader.ts";
import type { FileJob, FileResult, FromWorker, InitMessage, ToWorker } from "./_protocol.ts";

let state: {
  chunker: Chunker;
  buf: Uint8Array;
  idKey: Uint8Array;
  known: Uint8Array;
  stored: Set<string>;
  packer: PackWriter;
} | undefined;

const post = (m: FromWorker) => self.postMessage(m);

/** Binary search of the shared sorted id table. */
function isKnown(known: Uint8Array, id: Uint8Array): boolean {
  let lo = 0;
  let hi = known.length / 32 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const base = mid * 32;
    let c = 0;
    for (let i = 0; i < 32 && c === 0; i++) c = known[base + i] - id[i];
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function init(m: InitMessage) {
  const backend = openBackend(m.backend);
  state = {
    chunker: new Chunker(gearTable(m.chunkerSeed), m.chunker),
    buf: new Uint8Array(m.chunker.max),
    idKey: m.idKey,
    known: new Uint8Array(m.known),
    stored: new Set(),
    packer: new PackWriter(backend, m.enc, {
      targetSize: m.packSize,
      compressionLevel: m.compression,
      onPack: (pack: PackInfo) => post({ type: "pack", pack }),
    }),
  };
}

function saveFile(job: FileJob): FileResult {
  const s = state!;
  const content: string[] = [];
  let size: number;
  try {
    size = chunkFile(job.path, job.size, s.buf, s.chunker, (chunk) => {
      const raw = keyedId(s.idKey, chunk);
      const id = toHex(raw);
      content.push(id);
      if (s.stored.has(id) || isKnown(s.known, raw)) return;
      s.stored.add(id);
      s.packer.add("data", id, chunk);
    });
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  return { ok: true, content, size };
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  try {
    if (m.type === "init") init(m);
    else if (m.type === "files") {
      const results: FileResult[] = [];
      for (const f of m.files) results.push(saveFile(f));
      // Bound memory: at most two full packs wait to be written.
      if (state!.packer.backlog > 1) await state!.packer.drain();
      post({ type: "files", batch: m.batch, results });
    } else if (m.type === "flush") {
      await state!.packer.flush();
      post({ type: "flushed" });
    }
  } catch (err) {
    post({ type: "fatal", message: (err as Error).message });
  }
};
