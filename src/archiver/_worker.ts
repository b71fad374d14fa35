/// <reference lib="deno.worker" />
/**
 * A file-saver worker: reads files, cuts them into chunks, hashes each, and
 * packs the chunks the repository does not have yet (compress, verify,
 * encrypt). Runs the CPU-heavy part of a backup off the main thread; the
 * sealed packs go to the main thread, which stores them.
 */
import { Chunker, gearTable } from "../chunker/mod.ts";
import { keyedId, toHex } from "../crypto/mod.ts";
import { releaseMemory, traceMemory } from "../platform/mod.ts";
import { IdTable, type PackInfo, type PackStore, PackWriter } from "../repo/mod.ts";
import { type Backpressure, chunkFileStable, readFile, type StableRead } from "./_file_reader.ts";
import type { MirrorFileWrite, MirrorWriterModule } from "./mirror_sink.ts";
import { BatchWindow, ChunkBatcher, isZeroChunk } from "./chunk_batches.ts";
import { ClaimTable } from "./_claims.ts";
import type {
  ChunksMessage,
  FileJob,
  FileResult,
  FromWorker,
  InitMessage,
  SplitEnd,
  ToWorker,
} from "./_protocol.ts";

let state: {
  chunker: Chunker;
  buf: Uint8Array;
  idKey: Uint8Array;
  known: Uint8Array;
  stored: IdTable;
  claims: ClaimTable;
  packer: PackWriter;
  splitFrom: number;
  /** Batches of this worker's split files in flight. */
  window: BatchWindow;
  /** The mirror's writer module, imported at init when the backup has a mirror. */
  mirror?: MirrorWriterModule;
} | undefined;

const post = (m: FromWorker) => self.postMessage(m);
traceMemory("saver");

/** How many bytes of a file are read between two progress messages. */
const READ_STEP = 16 * 1024 * 1024;

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

/**
 * Ids of all-zero chunks, by length. The chunker cuts a run of zeros into
 * chunks of one size, so a disk image's free space is the same few chunks
 * over and over (2.6 of the 4 GiB of the bench's image): checking that a
 * chunk is zero reads it 4 bytes at a time, much faster than hashing it.
 */
const zeroIds = new Map<number, Uint8Array>();

/** A chunk's keyed id; an all-zero chunk's is hashed once per length. */
function chunkId(key: Uint8Array, chunk: Uint8Array): Uint8Array {
  return isZeroChunk(chunk) ? zeroChunkId(key, chunk.length) : keyedId(key, chunk);
}

function zeroChunkId(key: Uint8Array, length: number): Uint8Array {
  let id = zeroIds.get(length);
  if (!id) zeroIds.set(length, id = keyedId(key, new Uint8Array(length)));
  return id;
}

/**
 * Is the blob `raw` for this worker to store? Not if the repository had it
 * when the backup began, or this worker or another one already took it.
 */
function isNew(raw: Uint8Array): boolean {
  const s = state!;
  if (s.stored.find(raw) !== -1 || isKnown(s.known, raw)) return false;
  if (s.claims.claim(raw) === false) return false;
  s.stored.add(raw);
  return true;
}

/**
 * A batch of another thread's split file: hashes each chunk and packs the
 * new ones, then answers with the ids, in order. Waits first while two
 * packs wait to be written, so that the reading thread, which waits for
 * the answer, cannot fill memory.
 */
async function saveChunks(m: ChunksMessage): Promise<void> {
  const s = state!;
  const ids: string[] = [];
  for (const c of m.chunks) {
    const raw = typeof c === "number" ? zeroChunkId(s.idKey, c) : keyedId(s.idKey, c);
    const id = toHex(raw);
    ids.push(id);
    if (isNew(raw)) s.packer.add("data", id, typeof c === "number" ? new Uint8Array(c) : c);
    // Packing copied or compressed the chunk: free its buffer now (detaching
    // it drops the bytes) rather than at the next GC, which V8 lets wait for
    // tens of MiB of such buffers.
    if (typeof c !== "number") (c.buffer as ArrayBuffer).transfer(0);
  }
  if (s.packer.backlog > 1) await s.packer.drain();
  post({
    type: "chunked",
    from: m.from!,
    split: m.split,
    attempt: m.attempt,
    seq: m.seq,
    ids,
  });
}

/** Numbers this worker's split files. */
let nextSplit = 0;

/** Packs sent to the main thread and not yet acknowledged, by sequence number. */
const unsaved = new Map<number, () => void>();
let nextSeq = 0;

/**
 * Hands a sealed pack to the main thread without copying it (its buffer is
 * transferred) and resolves once the main thread has stored it. The pack
 * writer saves one pack at a time and the worker stops reading while two
 * wait, so each worker has at most one pack in flight on the main thread.
 */
const mainThreadStore: PackStore = {
  savePack(pack: PackInfo, bytes: Uint8Array): Promise<void> {
    const seq = nextSeq++;
    const buffer = bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
        bytes.byteLength === bytes.buffer.byteLength
      ? bytes.buffer
      : bytes.slice().buffer;
    return new Promise((resolve) => {
      unsaved.set(seq, resolve);
      const m: FromWorker = { type: "pack", seq, pack, bytes: new Uint8Array(buffer) };
      self.postMessage(m, [buffer]);
    });
  },
};

async function init(m: InitMessage) {
  const mirror = m.mirrorWriter === undefined
    ? undefined
    : await import(m.mirrorWriter) as MirrorWriterModule;
  state = {
    mirror,
    chunker: new Chunker(gearTable(m.chunkerSeed), m.chunker),
    buf: new Uint8Array(m.chunker.max),
    idKey: m.idKey,
    known: new Uint8Array(m.known),
    stored: new IdTable(),
    claims: new ClaimTable(m.claims),
    splitFrom: m.splitFrom,
    window: new BatchWindow(m.splitWindow),
    packer: new PackWriter(mainThreadStore, m.enc, {
      targetSize: m.packSize,
      compressionLevel: m.compression,
      // The main thread records the pack when it stores it; its buffers are garbage now.
      onPack: releaseMemory,
    }),
  };
}

/**
 * Reads one file once: its bytes feed the chunker and, when the job names a
 * mirror file, that file too. A failing mirror write does not fail the
 * backup of the file; it is reported beside the result.
 */
function saveFile(job: FileJob): FileResult | Promise<FileResult> {
  const s = state!;
  const content: string[] = [];
  const mirror: MirrorState = {};
  const mirrorFailed = (err: unknown) => failMirror(mirror, err);
  if (job.mirror && !comparedFirst(job)) {
    try {
      mirror.writer = new (mirrorIo().MirrorFileWriter)(job.mirror);
    } catch (err) {
      mirrorFailed(err);
    }
  }
  if (job.mirrorOnly && !mirror.writer) {
    return { ok: true, content, size: 0, mirrorError: mirror.error ?? "no mirror file to write" };
  }
  const onRead = mirror.writer
    ? (bytes: Uint8Array) => {
      if (!mirror.writer) return;
      try {
        mirror.writer.write(bytes);
      } catch (err) {
        mirrorFailed(err);
      }
    }
    : undefined;
  // A big file without a mirror copy is split: this worker only cuts it.
  const split = !job.mirror && job.size >= s.splitFrom ? splitFile() : undefined;
  const emit = split ? (chunk: Uint8Array) => split.batcher.add(chunk) : (chunk: Uint8Array) => {
    const raw = chunkId(s.idKey, chunk);
    const id = toHex(raw);
    content.push(id);
    if (!isNew(raw)) return;
    s.packer.add("data", id, chunk);
    // Pause reading while packs wait to be written, so that a single huge
    // file cannot fill memory (a 4 GiB file peaked at 9.4 GB without this).
    if (s.packer.backlog > 1) return s.packer.drain();
  };
  const failed = (err: unknown): FileResult => {
    mirror.writer?.abort();
    const r: FileResult = { ok: false, error: (err as Error).message };
    if (split) r.split = split.end();
    return r;
  };
  // A large file (a disk image) tells the main thread how far it is, so
  // progress moves, and can show a percentage, before the file is done.
  const changeHook = changeDuringRead(job.path);
  let reported = 0;
  let posted = 0;
  const afterRead = (attempt: number, total: number) => {
    changeHook?.(attempt, total);
    if (total - posted < READ_STEP) return;
    post({ type: "read", bytes: total - posted });
    reported += total - posted;
    posted = total;
  };
  // A file that changes while it is read is read again from the start.
  const restart = () => {
    posted = 0;
    content.length = 0;
    split?.batcher.restart();
    if (!mirror.writer) return;
    mirror.writer.abort();
    try {
      mirror.writer = new (mirrorIo().MirrorFileWriter)(job.mirror!);
    } catch (err) {
      mirrorFailed(err);
    }
  };
  let read: StableRead | Promise<StableRead>;
  try {
    read = job.mirrorOnly && onRead
      ? { size: readFile(job.path, job.size, s.buf, onRead), changed: false }
      : chunkFileStable(
        job.path,
        job.size,
        s.buf,
        s.chunker,
        emit,
        restart,
        onRead,
        afterRead,
      );
  } catch (err) {
    return failed(err);
  }
  if (split) {
    // The last batch, once there is room for it in the window.
    const last = (r: StableRead) => afterPause(split.batcher.end(), () => r);
    read = read instanceof Promise ? read.then(last) : last(read);
  }
  return read instanceof Promise ? read.then(finish, failed) : finish(read);

  function finish(r: StableRead): FileResult {
    const result = finishFile(job, mirror, content, r.size);
    if (r.changed && result.ok) result.changed = true;
    if (reported > 0 && result.ok) result.reported = reported;
    if (split && result.ok) result.split = split.end();
    return result;
  }
}

/** A file this worker reads and cuts, sending its chunks to the pool in batches. */
function splitFile(): { batcher: ChunkBatcher; end(): SplitEnd } {
  const no = nextSplit++;
  const batcher = new ChunkBatcher(state!.window, (batch, transfer) => {
    const m: FromWorker = { type: "chunks", split: no, ...batch };
    self.postMessage(m, transfer);
  });
  return { batcher, end: () => ({ no, ...batcher.sent }) };
}

/** `f` once the pause `v`, if there is one, is over. */
function afterPause<R>(v: Backpressure, f: () => R): R | Promise<R> {
  return v instanceof Promise ? v.then(f) : f();
}

/**
 * Test hook (tests/changed_file_cli_test.ts), never set outside tests:
 * `CAIRN_TEST_CHANGE_DURING_READ=NAME[:N]` appends a byte to the file named
 * NAME during each of its first N reads (default: every read), so a test
 * sees a file rewritten mid-read through the real worker pool.
 */
const CHANGE_AT = /^([^:]+)(?::(\d+))?$/.exec(
  Deno.env.get("CAIRN_TEST_CHANGE_DURING_READ") ?? "",
);

function changeDuringRead(path: string): ((attempt: number, total: number) => void) | undefined {
  if (!CHANGE_AT || !path.endsWith(`/${CHANGE_AT[1]}`)) return undefined;
  const times = CHANGE_AT[2] === undefined ? Infinity : Number(CHANGE_AT[2]);
  let done = 0;
  return (attempt) => {
    if (attempt > times || done >= attempt) return;
    done = attempt;
    Deno.writeFileSync(path, new Uint8Array([0x2b]), { append: true });
  };
}

/** The mirror's writer module; a job with a mirror file comes only to a worker given one. */
function mirrorIo(): MirrorWriterModule {
  const io = state!.mirror;
  if (!io) throw new Error("no mirror writer module was given to this worker");
  return io;
}

/** A file's mirror copy in progress, or why it failed. */
interface MirrorState {
  writer?: MirrorFileWrite;
  error?: string;
}

/** Gives up the file's mirror copy: the backup of the file goes on. */
function failMirror(mirror: MirrorState, err: unknown): void {
  mirror.error = (err as Error).message;
  mirror.writer?.abort();
  mirror.writer = undefined;
}

/** The mirror's last steps for a file that has been read, and its result. */
function finishFile(
  job: FileJob,
  mirror: MirrorState,
  content: string[],
  size: number,
): FileResult {
  const s = state!;
  let warnings: string[] = [];
  if (mirror.writer) {
    try {
      warnings = mirror.writer.commit();
    } catch (err) {
      failMirror(mirror, err);
    }
  }
  const result: FileResult = { ok: true, content, size };
  if (comparedFirst(job)) {
    try {
      const r = writeCompared(job, content, s.buf, size);
      if (r.retimed) result.mirrorRetimed = true;
      warnings = r.warnings;
    } catch (err) {
      mirror.error = (err as Error).message;
    }
  }
  if (mirror.error !== undefined) result.mirrorError = mirror.error;
  if (warnings.length > 0) result.mirrorWarnings = warnings;
  return result;
}

/**
 * Is the file's mirror copy written only after its blob ids are compared
 * with the ones the copy may already hold? Then a file whose bytes did not
 * change costs no write: its bytes are all still in `buf` at the end, or for
 * a larger file, read again only if its ids differ.
 */
function comparedFirst(job: FileJob): boolean {
  return job.mirror?.expect !== undefined && !job.mirrorOnly;
}

/**
 * The mirror part of a file that was read and chunked without writing its
 * copy: when its blob ids are the ones the mirror file already holds, only
 * metadata is set (`retimed`). Otherwise the bytes are written to a temp file
 * and renamed into place: from `buf` when the file was read whole into it,
 * else by reading the file a second time (only a large file whose stale
 * mirror copy had its size and mtime pays that).
 */
function writeCompared(
  job: FileJob,
  content: string[],
  buf: Uint8Array,
  size: number,
): { retimed: boolean; warnings: string[] } {
  const target = job.mirror!;
  const io = mirrorIo();
  if (io.holdsContent(target, content)) {
    return { retimed: true, warnings: io.retimeMirrorFile(target) };
  }
  const w = new io.MirrorFileWriter(target);
  try {
    if (size < buf.length && job.size < buf.length) w.write(buf.subarray(0, size));
    else readFile(job.path, job.size, buf, (bytes) => w.write(bytes));
    return { retimed: false, warnings: w.commit() };
  } catch (err) {
    w.abort();
    throw err;
  }
}

/**
 * Messages are handled one at a time, in order: a batch whose file paused
 * for a pack write must finish before the next batch reads into the same
 * buffer (the pool keeps two batches in flight per worker).
 */
let handling: Promise<void> = Promise.resolve();
self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === "saved") {
    // Not queued behind the batches: a batch may be waiting for this very pack.
    unsaved.get(m.seq)?.();
    unsaved.delete(m.seq);
    return;
  }
  // Nor are a split file's: its reading thread, maybe this one, waits for them.
  if (m.type === "credit") return state!.window.release();
  if (m.type === "chunks") {
    saveChunks(m).catch((err) => post({ type: "fatal", message: (err as Error).message }));
    return;
  }
  handling = handling.then(() => handle(m));
};

async function handle(
  m: Exclude<ToWorker, { type: "saved" | "credit" | "chunks" }>,
): Promise<void> {
  try {
    if (m.type === "init") await init(m);
    else if (m.type === "files") {
      const results: FileResult[] = [];
      const packer = state!.packer;
      for (const f of m.files) {
        const r = saveFile(f); // synchronous unless the file had to wait for a pack write
        results.push(r instanceof Promise ? await r : r);
        if (packer.failure) throw packer.failure;
      }
      // Bound memory: at most two full packs wait to be written.
      if (packer.backlog > 1) await packer.drain();
      post({ type: "files", batch: m.batch, results });
    } else if (m.type === "flush") {
      await state!.packer.flush();
      post({ type: "flushed" });
    }
  } catch (err) {
    post({ type: "fatal", message: (err as Error).message });
  }
}
