import type { PackInfo } from "../repo/mod.ts";
import type { FileJob, FileResult, FromWorker, InitMessage } from "./_protocol.ts";

interface Queued {
  job: FileJob;
  resolve(r: FileResult): void;
  reject(e: Error): void;
}

interface WorkerSlot {
  worker: Worker;
  batches: number;
  flushed?: () => void;
}

/** Files per batch message, and the bytes after which a batch is closed early. */
const BATCH_FILES = 64;
const BATCH_BYTES = 4 * 1024 * 1024;
/** Batches each worker may have in flight, so none idles between messages. */
const BATCHES_PER_WORKER = 2;

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
    init: InitMessage,
    private readonly savePack: SavePack,
    options: { highWater?: number; signal?: AbortSignal; onRead?: (bytes: number) => void } = {},
  ) {
    this.#highWater = options.highWater ?? 2048;
    this.#onRead = options.onRead;
    this.#signal = options.signal;
    this.#signal?.addEventListener("abort", this.#onAbort);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
      const slot: WorkerSlot = { worker, batches: 0 };
      worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onMessage(slot, e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        this.#fail(new Error(`file saver worker crashed: ${e.message}`));
      };
      worker.onmessageerror = () => {
        this.#fail(new Error("file saver worker sent a message that cannot be read"));
      };
      worker.postMessage(init);
      this.#slots.push(slot);
    }
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
        batch.forEach((q, i) => q.resolve(m.results[i]));
        this.#pending -= batch.length;
        this.#dispatch();
        this.#wake();
        break;
      }
      case "pack": {
        const saving = this.savePack(m.pack, m.bytes).then(
          () => {
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
