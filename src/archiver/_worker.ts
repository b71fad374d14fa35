/// <reference lib="deno.worker" />
/**
 * A file-saver worker: reads files, cuts them into chunks, hashes each, and
 * packs the chunks the repository does not have yet (compress, verify,
 * encrypt). Runs the CPU-heavy part of a backup off the main thread; the
 * sealed packs go to the main thread, which stores them.
 */
import { Chunker, gearTable } from "../chunker/mod.ts";
import { keyedId, toHex } from "../crypto/mod.ts";
import { IdTable, type PackInfo, type PackStore, PackWriter } from "../repo/mod.ts";
import { chunkFileStable, readFile, type StableRead } from "./_file_reader.ts";
import type { MirrorFileWrite, MirrorWriterModule } from "./mirror_sink.ts";
import type { FileJob, FileResult, FromWorker, InitMessage, ToWorker } from "./_protocol.ts";

let state: {
  chunker: Chunker;
  buf: Uint8Array;
  idKey: Uint8Array;
  known: Uint8Array;
  stored: IdTable;
  packer: PackWriter;
  /** The mirror's writer module, imported at init when the backup has a mirror. */
  mirror?: MirrorWriterModule;
} | undefined;

const post = (m: FromWorker) => self.postMessage(m);

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
  const n = chunk.length;
  if (n < 65536 || chunk[0] !== 0 || chunk[n - 1] !== 0 || chunk[n >> 1] !== 0) {
    return keyedId(key, chunk);
  }
  const head = (4 - (chunk.byteOffset & 3)) & 3;
  for (let i = 0; i < head; i++) if (chunk[i] !== 0) return keyedId(key, chunk);
  const words = new Uint32Array(chunk.buffer, chunk.byteOffset + head, (n - head) >> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return keyedId(key, chunk);
  for (let i = head + words.length * 4; i < n; i++) if (chunk[i] !== 0) return keyedId(key, chunk);
  let id = zeroIds.get(n);
  if (!id) zeroIds.set(n, id = keyedId(key, chunk));
  return id;
}

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
    packer: new PackWriter(mainThreadStore, m.enc, {
      targetSize: m.packSize,
      compressionLevel: m.compression,
      onPack: () => {}, // the main thread records the pack when it stores it
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
  const emit = (chunk: Uint8Array) => {
    const raw = chunkId(s.idKey, chunk);
    const id = toHex(raw);
    content.push(id);
    if (s.stored.find(raw) !== -1 || isKnown(s.known, raw)) return;
    s.stored.add(raw);
    s.packer.add("data", id, chunk);
    // Pause reading while packs wait to be written, so that a single huge
    // file cannot fill memory (a 4 GiB file peaked at 9.4 GB without this).
    if (s.packer.backlog > 1) return s.packer.drain();
  };
  const failed = (err: unknown): FileResult => {
    mirror.writer?.abort();
    return { ok: false, error: (err as Error).message };
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
  return read instanceof Promise ? read.then(finish, failed) : finish(read);

  function finish(r: StableRead): FileResult {
    const result = finishFile(job, mirror, content, r.size);
    if (r.changed && result.ok) result.changed = true;
    if (reported > 0 && result.ok) result.reported = reported;
    return result;
  }
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
  handling = handling.then(() => handle(m));
};

async function handle(m: Exclude<ToWorker, { type: "saved" }>): Promise<void> {
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
