import type { MasterKey } from "../crypto/mod.ts";
import { freeBytes } from "../fs/mod.ts";
import type { MasterIndex, PackInfo, RepoConfig } from "../repo/mod.ts";
import type { Backpressure } from "./_file_reader.ts";
import { BatchWindow, ChunkBatcher } from "./chunk_batches.ts";
import { ClaimTable } from "./_claims.ts";
import type {
  ChunkedMessage,
  ChunksMessage,
  FileJob,
  FileResult,
  FromWorker,
  InitMessage,
  SplitEnd,
} from "./_protocol.ts";

interface Queued {
  job: FileJob;
  resolve(r: FileResult): void;
  reject(e: Error): void;
}

interface WorkerSlot {
  worker: Worker;
  index: number;
  batches: number;
  /** Batches of split files' chunks sent to this worker and not answered. */
  chunkBatches: number;
  flushed?: () => void;
}

/** A split file's (or a stream's) batches, as the pool has seen them. */
interface Split {
  /** The latest attempt a batch came from; only its ids are kept. */
  attempt: number;
  /** The ids of each batch of that attempt, by seq. */
  ids: string[][];
  /** Batches sent to a worker and not answered (of any attempt). */
  outstanding: number;
  settle?: () => void;
}

/** The inputs the pool's workers need besides what it adds (claims, split sizes). */
export type PoolInit = Omit<InitMessage, "claims" | "splitFrom" | "splitWindow">;

/** What {@link poolInit} reads of a repository: its keys, chunking and packing, and what it holds. */
export interface PoolRepo {
  readonly master: MasterKey;
  readonly config: Pick<RepoConfig, "chunker" | "compression" | "pack_size">;
  readonly index: Pick<MasterIndex, "sortedIds">;
}

/** A pool's settings for saving into `repo`, with the mirror's writer module if there is one. */
export function poolInit(repo: PoolRepo, mirrorWriter?: string): PoolInit {
  return {
    type: "init",
    enc: repo.master.enc,
    idKey: repo.master.id,
    chunkerSeed: repo.master.chunker,
    chunker: repo.config.chunker,
    compression: repo.config.compression,
    packSize: repo.config.pack_size,
    known: repo.index.sortedIds(),
    mirrorWriter,
  };
}

/** The one thread that cuts a stream on the main thread, as {@link FileSaverPool.stream} gives it. */
export interface StreamSaver {
  /** Adds the stream's next chunk (copied); a promise asks the caller to wait. */
  add(chunk: Uint8Array): Backpressure;
  /** Once every chunk has been added: the stream's blob ids, in order, once all are packed. */
  end(): Promise<string[]>;
}

/** Files per batch message, and the bytes after which a batch is closed early. */
const BATCH_FILES = 64;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Batches each worker may have in flight, so none idles between messages. */
const BATCHES_PER_WORKER = 2;
/**
 * Files of at least this many bytes are split (see ChunkBatcher): below
 * it, the files of a tree keep the workers busy in parallel anyway.
 */
export const SPLIT_FROM = 32 * 1024 * 1024;
/**
 * Chunk batches a worker that is not the file's reader is given before
 * the reader itself gets one: the reader hashes its share only when it
 * waits for room in its window, so the others are kept busy first.
 */
const HELPER_QUEUE = 2;

/**
 * Stores one pack a worker sealed (through the repository's backend) and
 * records it; resolves once it is durable.
 */
export type SavePack = (pack: PackInfo, bytes: Uint8Array) => Promise<void>;

/**
 * A pool of file-saver workers behind one call: `save(path)` resolves with
 * the file's blob ids once a worker has read, chunked and queued them.
 * Small files travel in batches, since per-file overhead dominates them.
 * The packs workers seal are stored here, on the calling thread, with
 * `savePack`; a worker waits for each to be stored before it sends the next.
 *
 * The first failure (a pack that cannot be stored, a worker that throws or
 * dies) stops every worker and is the one error every pending and later
 * call rejects with; messages still in flight from workers are ignored.
 */
export class FileSaverPool {
  #slots: WorkerSlot[] = [];
  #queue: Queued[] = [];
  #inFlight = new Map<number, Queued[]>();
  #nextBatch = 0;
  #pending = 0;
  #waiters: (() => void)[] = [];
  #failure: Error | undefined;
  /** Pack saves under way; {@link close} waits for them. */
  #saving = new Set<Promise<void>>();
  /** Split files and streams with batches, by `${reader}:${no}` (reader -1: a stream). */
  #splits = new Map<string, Split>();
  /** Waits for splits to settle, rejected by a failure. */
  #splitWaits = new Set<(err: Error) => void>();
  #streams = 0;
  #streamWindow: BatchWindow;

  readonly #highWater: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onRead: ((bytes: number) => void) | undefined;
  readonly #onAbort = () => this.#fail(abortError(this.#signal!));

  /**
   * Starts `size` workers. At most `highWater` files wait at once; an abort
   * of `signal` stops the pool as a failure does.
   */
  constructor(
    size: number,
    init: PoolInit,
    private readonly savePack: SavePack,
    options: {
      highWater?: number;
      signal?: AbortSignal;
      onRead?: (bytes: number) => void;
      /** Files of at least this many bytes are split (default {@link SPLIT_FROM}; never with one worker). */
      splitFrom?: number;
    } = {},
  ) {
    this.#highWater = options.highWater ?? 2048;
    this.#onRead = options.onRead;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort);
    const splitWindow = 2 * size + 2;
    this.#streamWindow = new BatchWindow(splitWindow);
    const full: InitMessage = {
      ...init,
      claims: ClaimTable.create().buffer,
      splitFrom: options.splitFrom ?? (size > 1 ? SPLIT_FROM : Infinity),
      splitWindow,
    };
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
      const slot: WorkerSlot = { worker, index: i, batches: 0, chunkBatches: 0 };
      worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onMessage(slot, e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        this.#fail(new Error(`file saver worker crashed: ${e.message}`));
      };
      worker.onmessageerror = () => {
        this.#fail(new Error("file saver worker sent a message that cannot be read"));
      };
      worker.postMessage(full);
      this.#slots.push(slot);
    }
    // An abort listener never runs for a signal that has already fired.
    if (this.#signal?.aborted) this.#onAbort();
  }

  /** Files queued or being saved. */
  get pending(): number {
    return this.#pending;
  }

  /** Can the pool take another file now without growing memory? */
  hasRoom(): boolean {
    if (this.#failure) throw this.#failure;
    return this.#pending < this.#highWater;
  }

  /** Resolves when the pool can take more work without growing memory. */
  room(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#pending < this.#highWater) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Saves one file; resolves with its content ids, or an error for that file. */
  save(job: FileJob): Promise<FileResult> {
    if (this.#failure) return Promise.reject(this.#failure);
    this.#pending++;
    const p = new Promise<FileResult>((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
    });
    this.#dispatch();
    return p;
  }

  /**
   * A stream cut on this thread: its chunks go, in batches, to the workers,
   * which hash and pack them as they do a split file's.
   */
  stream(): StreamSaver {
    const no = this.#streams++;
    const key = `-1:${no}`;
    const batcher = new ChunkBatcher(this.#streamWindow, (batch, transfer) => {
      if (this.#failure) throw this.#failure;
      this.#route(key, { type: "chunks", split: no, ...batch }, -1, transfer);
    });
    return {
      add: (chunk) => batcher.add(chunk),
      end: async () => {
        await batcher.end();
        return this.#joinSplit(key, { no, ...batcher.sent });
      },
    };
  }

  /** Waits for every file, then makes each worker write its last pack, then stops them. */
  async finish(): Promise<void> {
    while (this.#pending > 0) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((r) => this.#waiters.push(r));
    }
    await Promise.all(this.#slots.map((slot) =>
      new Promise<void>((resolve) => {
        slot.flushed = resolve;
        slot.worker.postMessage({ type: "flush" });
      })
    ));
    if (this.#failure) throw this.#failure;
    await this.close();
  }

  /**
   * Stops every worker at once (after an error or abort), then waits for
   * the pack saves already under way, so that nothing is written after
   * this resolves and every pack that became durable has been recorded.
   */
  async close(): Promise<void> {
    this.#terminate();
    while (this.#saving.size > 0) await Promise.allSettled([...this.#saving]);
  }

  #terminate(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const s of this.#slots) s.worker.terminate();
    this.#slots = [];
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      while (slot.batches < BATCHES_PER_WORKER && this.#queue.length > 0) {
        const batch: Queued[] = [];
        let bytes = 0;
        while (this.#queue.length > 0 && batch.length < BATCH_FILES && bytes < BATCH_BYTES) {
          const q = this.#queue.shift()!;
          batch.push(q);
          bytes += q.job.size;
        }
        const id = this.#nextBatch++;
        this.#inFlight.set(id, batch);
        slot.batches++;
        slot.worker.postMessage({ type: "files", batch: id, files: batch.map((q) => q.job) });
      }
    }
  }

  #onMessage(slot: WorkerSlot, m: FromWorker): void {
    // After a failure every batch has been rejected and the workers are
    // stopping: what they still send answers nothing.
    if (this.#failure) return;
    switch (m.type) {
      case "files": {
        const batch = this.#inFlight.get(m.batch);
        if (!batch) {
          this.#fail(new Error(`file saver worker answered unknown batch ${m.batch}`));
          return;
        }
        this.#inFlight.delete(m.batch);
        slot.batches--;
        batch.forEach((q, i) => {
          const r = m.results[i];
          if (!r.split) {
            this.#pending--;
            return q.resolve(r);
          }
          // A split file is saved once the workers have answered all its batches.
          const split = r.split;
          delete r.split;
          this.#joinSplit(`${slot.index}:${split.no}`, split).then(
            (content) => q.resolve(r.ok ? { ...r, content } : r),
            q.reject,
          ).finally(() => {
            this.#pending--;
            this.#wake();
          });
        });
        this.#dispatch();
        this.#wake();
        break;
      }
      case "chunks": {
        const transfer = m.chunks.flatMap((c) => typeof c === "number" ? [] : [c.buffer]);
        this.#route(`${slot.index}:${m.split}`, m, slot.index, transfer as ArrayBuffer[]);
        break;
      }
      case "chunked":
        slot.chunkBatches--;
        this.#chunked(m);
        break;
      case "pack": {
        const saving = this.savePack(m.pack, m.bytes).then(
          () => {
            // The pack is stored and its bytes, transferred from the worker,
            // are this thread's alone: freed now, not at the next collection.
            freeBytes(m.bytes);
            if (!this.#failure) slot.worker.postMessage({ type: "saved", seq: m.seq });
          },
          (err) => this.#fail(err instanceof Error ? err : new Error(String(err))),
        ).finally(() => this.#saving.delete(saving));
        this.#saving.add(saving);
        break;
      }
      case "flushed":
        slot.flushed?.();
        break;
      case "read":
        this.#onRead?.(m.bytes);
        break;
      case "fatal":
        this.#fail(new Error(m.message));
        break;
    }
  }

  /** Sends a batch of the split `key`, read by worker `from` (-1: this thread), to a worker. */
  #route(key: string, m: ChunksMessage, from: number, transfer: ArrayBuffer[]): void {
    let split = this.#splits.get(key);
    if (!split) this.#splits.set(key, split = { attempt: m.attempt, ids: [], outstanding: 0 });
    if (m.attempt > split.attempt) {
      split.attempt = m.attempt;
      split.ids = [];
    }
    split.outstanding++;
    let to: WorkerSlot | undefined;
    for (const s of this.#slots) {
      if (s.index !== from && (!to || s.chunkBatches < to.chunkBatches)) to = s;
    }
    const reader = this.#slots[from];
    if (
      reader && (!to || (to.chunkBatches >= HELPER_QUEUE && reader.chunkBatches < to.chunkBatches))
    ) {
      to = reader;
    }
    to!.chunkBatches++;
    to!.worker.postMessage({ ...m, from }, transfer);
  }

  /** A worker packed a batch: its ids are kept, and its reader may send another. */
  #chunked(m: ChunkedMessage): void {
    const key = `${m.from}:${m.split}`;
    const split = this.#splits.get(key);
    if (!split) {
      this.#fail(new Error(`file saver worker answered unknown chunk batch ${key}`));
      return;
    }
    split.outstanding--;
    if (m.attempt === split.attempt) split.ids[m.seq] = m.ids;
    if (m.from >= 0) this.#slots[m.from].worker.postMessage({ type: "credit" });
    else this.#streamWindow.release();
    if (split.outstanding === 0) split.settle?.();
  }

  /**
   * Once every batch of the split `key` has been answered (also those of
   * attempts given up, so that a blob a worker claimed is packed before the
   * pool flushes): the blob ids of its last attempt, in order.
   */
  async #joinSplit(key: string, end: SplitEnd): Promise<string[]> {
    const split = this.#splits.get(key);
    if (split && split.outstanding > 0) {
      await new Promise<void>((resolve, reject) => {
        split.settle = () => {
          this.#splitWaits.delete(reject);
          resolve();
        };
        this.#splitWaits.add(reject);
      });
    }
    this.#splits.delete(key);
    const ids = split?.attempt === end.attempt ? split.ids : [];
    const content: string[] = [];
    for (let seq = 0; seq < end.batches; seq++) {
      if (!ids[seq]) throw new Error(`chunk batch ${seq} of ${key} was never answered`);
      for (const id of ids[seq]) content.push(id);
    }
    return content;
  }

  #wake(): void {
    if (this.#pending >= this.#highWater && !this.#failure) return;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    for (const batch of this.#inFlight.values()) for (const q of batch) q.reject(err);
    for (const q of this.#queue) q.reject(err);
    this.#inFlight.clear();
    this.#queue = [];
    for (const s of this.#slots) s.flushed?.();
    for (const reject of this.#splitWaits) reject(err);
    this.#splitWaits.clear();
    this.#streamWindow.fail(err);
    this.#terminate();
    this.#wake();
  }
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason;
  return reason instanceof Error
    ? reason
    : new DOMException("The backup was aborted", "AbortError");
}
