/**
 * A restore worker: writes the files the main thread sends, each with
 * {@link writeRestoredFile}, opening the segments it asks the main thread
 * to read. Plaintext segments of small blobs are kept for the next files,
 * which the pool sends here because they share them.
 */
/// <reference lib="deno.worker" />
import { extractBlob, fileContent, openSegment, packKey, SEGMENT_ALONE } from "../repo/mod.ts";
import { releaseMemory, traceMemory } from "../platform/mod.ts";
import type { BlobPlace, FromWorker, ToWorker } from "./_protocol.ts";
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

function keyOf(p: BlobPlace): Promise<CryptoKey> {
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

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === "init") keys = { enc: m.enc, idKey: m.idKey };
  else if (m.type === "loaded") {
    const w = waiting.get(m.req)!;
    waiting.delete(m.req);
    if (m.bytes) w.ok(m.bytes);
    else w.fail(new Error(m.error));
  } else writeFile(m);
};
