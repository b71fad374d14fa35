/**
 * One big file (a disk image) or a stream uses every core: the thread that
 * reads it only cuts it into chunks (the content-defined cut is sequential)
 * and sends the chunks, in batches, to the file-saver workers, which hash,
 * compress, encrypt and pack them. The batches carry their order (`seq`),
 * so the file's blob list is put back in order from the ids the workers
 * send back; a fixed number of batches in flight bounds the memory.
 */
import { Buffer } from "node:buffer";
import type { Backpressure } from "./_file_reader.ts";

/** A batch is sent once its chunks hold this many bytes, or this many chunks. */
export const BATCH_BYTES = 4 * 1024 * 1024;
export const BATCH_CHUNKS = 64;

/**
 * A chunk in a batch: its bytes (a buffer of its own, transferred), or
 * for an all-zero chunk only its length (a disk image's free space).
 */
export type BatchChunk = Uint8Array | number;

export interface Batch {
  /** Starts at 0 and grows each time the file is read again from its start. */
  attempt: number;
  /** The batch's place in the file's attempt: 0, 1, 2, ... */
  seq: number;
  chunks: BatchChunk[];
}

/** Zeros to compare chunks against, a block at a time. */
const ZEROS = new Uint8Array(64 * 1024);

/**
 * Is `chunk` all zeros? Only chunks of 64 KiB or more are looked at. The
 * blocks are compared with zeros by `Buffer.compare` (memcmp, 50 GB/s and
 * more, against 6 GB/s for a loop over 32-bit words: a 4 GiB image holds
 * 2.6 GiB of zero chunks).
 */
export function isZeroChunk(chunk: Uint8Array): boolean {
  const n = chunk.length;
  if (n < 65536 || chunk[0] !== 0 || chunk[n - 1] !== 0 || chunk[n >> 1] !== 0) return false;
  const Z = ZEROS.length;
  for (let i = 0; i < n; i += Z) {
    const block = chunk.subarray(i, i + Z);
    const zeros = block.length === Z ? ZEROS : ZEROS.subarray(0, block.length);
    if (Buffer.compare(block, zeros) !== 0) return false;
  }
  return true;
}

/**
 * Batches in flight from one reading thread, across its files: sending
 * one more than `size` waits for a batch to be done.
 */
export class BatchWindow {
  #inFlight = 0;
  #waiter: { resolve(): void; reject(e: Error): void } | undefined;
  #failure: Error | undefined;

  constructor(readonly size: number) {}

  /** Counts one more batch in flight; a promise when the window is full. */
  acquire(): Backpressure {
    if (this.#failure) throw this.#failure;
    this.#inFlight++;
    if (this.#inFlight < this.size) return;
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  /** One batch is done. */
  release(): void {
    this.#inFlight--;
    const w = this.#waiter;
    if (!w || this.#inFlight >= this.size) return;
    this.#waiter = undefined;
    w.resolve();
  }

  /** No batch will be done any more: the wait, and every later send, fail with `err`. */
  fail(err: Error): void {
    this.#failure ??= err;
    this.#waiter?.reject(err);
    this.#waiter = undefined;
  }
}

/**
 * Gathers one file's chunks into batches and sends each, in order, with
 * `send` (whose second argument lists the buffers to transfer).
 */
export class ChunkBatcher {
  #chunks: BatchChunk[] = [];
  #bytes = 0;
  #seq = 0;
  #attempt = 0;

  constructor(
    private readonly window: BatchWindow,
    private readonly send: (batch: Batch, transfer: ArrayBuffer[]) => void,
  ) {}

  /** Adds a chunk (copied: `chunk` may be reused once this returns). */
  add(chunk: Uint8Array): Backpressure {
    if (isZeroChunk(chunk)) this.#chunks.push(chunk.length);
    else {
      this.#chunks.push(chunk.slice());
      this.#bytes += chunk.length;
    }
    if (this.#bytes >= BATCH_BYTES || this.#chunks.length >= BATCH_CHUNKS) return this.#flush();
  }

  /** The file is read again from its start: what was gathered is dropped. */
  restart(): void {
    this.#chunks = [];
    this.#bytes = 0;
    this.#seq = 0;
    this.#attempt++;
  }

  /** Sends the last batch (waiting, as {@link add} may, for room in the window). */
  end(): Backpressure {
    if (this.#chunks.length > 0) return this.#flush();
  }

  /** The file's last attempt and how many batches it has been sent in. */
  get sent(): { attempt: number; batches: number } {
    return { attempt: this.#attempt, batches: this.#seq };
  }

  #flush(): Backpressure {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    const transfer: ArrayBuffer[] = [];
    for (const c of chunks) if (typeof c !== "number") transfer.push(c.buffer as ArrayBuffer);
    this.send({ attempt: this.#attempt, seq: this.#seq++, chunks }, transfer);
    return this.window.acquire();
  }
}
