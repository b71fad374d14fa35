/**
 * A restore worker: writes the files the main thread sends, each with
 * {@link writeRestoredFile}, opening the segments it asks the main thread
 * to read. Plaintext segments of small blobs are kept for the next files,
 * which the pool sends here because they share them.
 */
/// <reference lib="deno.worker" />
import { extractBlob, fileContent, openSegment, packKey, SEGMENT_ALONE } from "../repo/mod.ts";
import { releaseMemory, traceMemory } from "../platform/mod.ts";
import type { BatchResult, BlobPlace, FromWorker, ToWorker } from "./_protocol.ts";
import { writeRestoredFile } from "./_write_file.ts";

/** Segments of small blobs kept (about 768 KiB each at most). */
const SEGMENT_CACHE = 16;

let keys: { enc: Uint8Array; idKey: Uint8Array } | undefined;
const packKeys = new Map<string, Promise<CryptoKey>>();
const segments = new Map<string, Promise<Uint8Array>>();
const waiting = new Map<number, { ok: (b: Uint8Array) => void; fail: (e: Error) => void }>();
let nextReq = 0;

const post = (m: FromWorker) => self.postMessage(m);
traceMemory("restorer");

function load(pack: string, offset: number, length: number): Promise<Uint8Array> {
  const req = nextReq++;
  return new Promise((ok, fail) => {
    waiting.set(req, { ok, fail });
    post({ type: "load", req, pack, offset, length });
  });
}

function keyOf(p: { pack: string; salt: Uint8Array }): Promise<CryptoKey> {
  let key = packKeys.get(p.pack);
  if (!key) {
    if (packKeys.size > 4096) packKeys.clear();
    key = packKey(keys!.enc, p.salt);
    packKeys.set(p.pack, key);
  }
  return key;
}

function segment(p: BlobPlace): Promise<Uint8Array> {
  const open = async () =>
    openSegment(
      await keyOf(p),
      "data",
      p.offset,
      await load(p.pack, p.offset, p.length),
      `data blob ${p.id}`,
      undefined,
      p.at + p.rawLength,
    );
  if (p.rawLength >= SEGMENT_ALONE) return open();
  const key = `${p.pack}/${p.offset}`;
  let s = segments.get(key);
  if (s) segments.delete(key);
  else {
    s = open();
    s.catch(() => segments.delete(key));
  }
  segments.set(key, s);
  if (segments.size > SEGMENT_CACHE) segments.delete(segments.keys().next().value!);
  return s;
}

/**
 * Bytes written since the last collection: every {@link COLLECT_EVERY} the
 * worker asks for one (with `--expose-gc`), since the segments and blobs it
 * loaded are garbage V8 would otherwise keep (90–111 MiB a restorer on the
 * kernel tree, against about 12 MiB live).
 */
let sinceCollect = 0;
const COLLECT_EVERY = 32 * 1024 * 1024;

async function writeFile(m: Extract<ToWorker, { type: "file" }>): Promise<void> {
  try {
    const byId = new Map(m.blobs.map((b) => [b.id, b]));
    const source = {
      loadBlob: async (_type: "data", id: string) => {
        const p = byId.get(id)!;
        return extractBlob(keys!.idKey, await segment(p), { ...p, type: "data" });
      },
      blobLength: (id: string) => byId.get(id)?.rawLength,
    };
    const ids = m.content.map((i) => m.blobs[i].id);
    const r = await writeRestoredFile(m.spec, fileContent(source, ids, { size: m.spec.size }));
    post({ type: "done", job: m.job, bytes: r.bytes, warnings: r.warnings });
    sinceCollect += r.bytes;
    if (sinceCollect >= COLLECT_EVERY) {
      sinceCollect = 0;
      releaseMemory();
    }
  } catch (err) {
    post({ type: "failed", job: m.job, error: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * Writes a batch of small files, one after another with synchronous calls:
 * every segment they need came with the batch, read by the main thread, and
 * is opened once (all of them at once, so the decrypts overlap), and the
 * batch is answered with one message. A file whose segment is damaged or
 * missing fails alone.
 */
async function writeBatch(m: Extract<ToWorker, { type: "batch" }>): Promise<void> {
  // Per segment, in one pass over the blobs: the first blob's id (to name the
  // segment in messages) and where the last blob needed ends in its plaintext.
  const firstBlob: string[] = new Array(m.segs.length).fill("?");
  const plainEnd: number[] = new Array(m.segs.length).fill(0);
  for (let i = m.blobs.length - 1; i >= 0; i--) {
    const b = m.blobs[i];
    firstBlob[b.seg] = b.id;
    plainEnd[b.seg] = Math.max(plainEnd[b.seg], b.at + b.rawLength);
  }
  const opened = m.segs.map((s, i) => {
    const p = s.error !== undefined || !s.sealed
      ? Promise.reject(new Error(s.error ?? "segment not read"))
      : keyOf(s).then((key) =>
        openSegment(
          key,
          "data",
          s.offset,
          s.sealed!,
          `data blob ${firstBlob[i]}`,
          undefined,
          plainEnd[i],
        )
      );
    p.catch(() => {}); // its failure is the failure of each file that needs it
    return p;
  });
  const results: BatchResult[] = [];
  for (const f of m.files) {
    try {
      const blobs: Uint8Array[] = [];
      const done = new Map<number, Uint8Array>();
      for (const i of f.content) {
        let plain = done.get(i);
        if (!plain) {
          const b = m.blobs[i];
          plain = extractBlob(keys!.idKey, await opened[b.seg], { ...b, type: "data" });
          done.set(i, plain);
        }
        blobs.push(plain);
      }
      const r = await writeRestoredFile(f.spec, blobs);
      results.push({ bytes: r.bytes, warnings: r.warnings });
      sinceCollect += r.bytes;
    } catch (err) {
      results.push({ error: err instanceof Error ? err.message : String(err) });
    }
  }
  post({ type: "batchDone", job: m.job, results });
  if (sinceCollect >= COLLECT_EVERY) {
    sinceCollect = 0;
    releaseMemory();
  }
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === "init") keys = { enc: m.enc, idKey: m.idKey };
  else if (m.type === "loaded") {
    const w = waiting.get(m.req)!;
    waiting.delete(m.req);
    if (m.bytes) w.ok(m.bytes);
    else w.fail(new Error(m.error));
  } else if (m.type === "batch") writeBatch(m);
  else writeFile(m);
};
