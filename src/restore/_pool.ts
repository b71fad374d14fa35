/**
 * The restore's worker pool. Files go to the worker that already holds the
 * segment their first blob is in (small files share segments, and opening
 * one costs a decrypt and a decompress), else to the least busy one.
 * Memory is bounded by the files in flight (the restore caps them), each
 * holding at most `DEFAULT_PREFETCH_BYTES` of blobs fetched ahead, plus
 * each worker's cache of 16 segments.
 */
import { CorruptError, type Repository } from "../repo/mod.ts";
import type {
  BatchBlob,
  BatchFile,
  BatchResult,
  BatchSegment,
  BlobPlace,
  FromWorker,
  ToWorker,
} from "./_protocol.ts";
import type { FileSpec } from "./_write_file.ts";

interface Slot {
  worker: Worker;
  busy: number;
}

interface Job {
  ok: (r: { bytes: number; warnings: string[] }) => void;
  fail: (e: Error) => void;
  batch?: (r: BatchResult[]) => void;
}

/** A file waiting in a {@link RestoreBatch}. */
interface Pending {
  spec: FileSpec;
  content: number[];
}

/** Reads of segments that follow each other in a pack are merged up to this many bytes. */
const READ_MERGE_MAX = 8 * 1024 * 1024;

/**
 * Small files gathered for one worker message: their blobs, located, and
 * the segments holding them, which the main thread reads (merging
 * neighbours in a pack into one read) and sends along, so the worker writes
 * the whole batch without asking for anything: one message each way per
 * batch instead of two or more per file.
 */
export class RestoreBatch {
  readonly files: Pending[] = [];
  readonly blobs: BatchBlob[] = [];
  readonly segs: (BatchSegment & { length: number })[] = [];
  readonly #blobNo = new Map<string, number>();
  readonly #segNo = new Map<string, number>();
  /** Bytes of file content. */
  bytes = 0;

  constructor(private readonly repo: Repository) {}

  /** Adds a file: locates its blobs, and notes the segments they are in. */
  async add(spec: FileSpec, contentIds: readonly string[]): Promise<void> {
    // As fileContent does: sizes are checked before anything is read.
    let total = 0;
    const entries = [];
    for (const id of contentIds) {
      const e = await this.repo.locateBlob("data", id);
      total += e.rawLength;
      entries.push(e);
    }
    if (total !== spec.size) {
      throw new CorruptError(`content is ${total} bytes, but the snapshot says ${spec.size}`);
    }
    const content: number[] = [];
    let n = 0;
    for (const id of contentIds) {
      let i = this.#blobNo.get(id);
      const e = entries[n++];
      if (i === undefined) {
        const key = `${e.pack.name}/${e.offset}`;
        let seg = this.#segNo.get(key);
        if (seg === undefined) {
          seg = this.segs.length;
          this.segs.push({
            pack: e.pack.name,
            salt: e.pack.salt,
            offset: e.offset,
            length: e.length,
          });
          this.#segNo.set(key, seg);
        }
        i = this.blobs.length;
        this.blobs.push({ id, seg, at: e.at, rawLength: e.rawLength });
        this.#blobNo.set(id, i);
      }
      content.push(i);
    }
    this.files.push({ spec, content });
    this.bytes += spec.size;
  }

  /** Would a file starting with blob `id` start in a segment this batch holds? */
  async holds(id: string | undefined): Promise<boolean> {
    if (id === undefined) return true;
    if (this.#blobNo.has(id)) return true;
    const e = await this.repo.locateBlob("data", id);
    return this.#segNo.has(`${e.pack.name}/${e.offset}`);
  }

  /** Reads every segment, neighbours in a pack at once; a failed read is each segment's error. */
  async read(): Promise<Transferable[]> {
    const order = this.segs.map((_, i) => i).sort((a, b) => {
      const x = this.segs[a], y = this.segs[b];
      return x.pack < y.pack ? -1 : x.pack > y.pack ? 1 : x.offset - y.offset;
    });
    const transfer: Transferable[] = [];
    for (let i = 0; i < order.length;) {
      const first = this.segs[order[i]];
      let end = first.offset + first.length;
      let j = i + 1;
      while (j < order.length) {
        const s = this.segs[order[j]];
        if (
          s.pack !== first.pack || s.offset !== end ||
          s.offset + s.length - first.offset > READ_MERGE_MAX
        ) break;
        end = s.offset + s.length;
        j++;
      }
      try {
        const b = await this.repo.backend.load("data", first.pack, {
          offset: first.offset,
          length: end - first.offset,
        });
        const bytes = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
        if (bytes.length !== end - first.offset) {
          throw new Error(`short read of pack ${first.pack}`);
        }
        transfer.push(bytes.buffer as ArrayBuffer);
        for (let k = i; k < j; k++) {
          const s = this.segs[order[k]];
          s.sealed = bytes.subarray(s.offset - first.offset, s.offset - first.offset + s.length);
        }
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        for (let k = i; k < j; k++) this.segs[order[k]].error = error;
      }
      i = j;
    }
    return transfer;
  }
}

/** Segments remembered for routing, newest last. */
const ROUTES = 256;

export class RestorePool {
  readonly #slots: Slot[] = [];
  readonly #jobs = new Map<number, Job>();
  readonly #routes = new Map<string, Slot>();
  #next = 0;
  #broken: Error | undefined;

  constructor(private readonly repo: Repository, workers: number) {
    for (let i = 0; i < workers; i++) {
      const worker = new Worker(new URL("./_worker.ts", import.meta.url).href, { type: "module" });
      const slot: Slot = { worker, busy: 0 };
      worker.onmessage = (e: MessageEvent<FromWorker>) => this.#onMessage(slot, e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        this.#breakAll(new Error(`restore worker failed: ${e.message}`));
      };
      this.#post(slot, {
        type: "init",
        enc: this.repo.master.enc,
        idKey: this.repo.master.id,
      });
      this.#slots.push(slot);
    }
  }

  /** Writes one file in a worker; resolves once it is whole and has its metadata. */
  async write(
    spec: FileSpec,
    contentIds: readonly string[],
  ): Promise<{ bytes: number; warnings: string[] }> {
    if (this.#broken) throw this.#broken;
    const blobs: BlobPlace[] = [];
    const seen = new Map<string, number>();
    const content: number[] = [];
    for (const id of contentIds) {
      let i = seen.get(id);
      if (i === undefined) {
        const e = await this.repo.locateBlob("data", id);
        i = blobs.length;
        blobs.push({
          id,
          pack: e.pack.name,
          salt: e.pack.salt,
          offset: e.offset,
          length: e.length,
          rawLength: e.rawLength,
          at: e.at,
        });
        seen.set(id, i);
      }
      content.push(i);
    }
    const slot = this.#pick(blobs[0]);
    const job = this.#next++;
    slot.busy++;
    try {
      return await new Promise((ok, fail) => {
        this.#jobs.set(job, { ok, fail });
        this.#post(slot, { type: "file", job, spec, blobs, content });
      });
    } finally {
      slot.busy--;
    }
  }

  /**
   * Writes a batch in the least busy worker (its segments read here first);
   * resolves with each file's outcome, in the batch's order.
   */
  async writeBatch(batch: RestoreBatch): Promise<BatchResult[]> {
    if (this.#broken) throw this.#broken;
    const transfer = await batch.read();
    const slot = this.#slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const job = this.#next++;
    slot.busy++;
    const segs: BatchSegment[] = batch.segs.map((s) => ({
      pack: s.pack,
      salt: s.salt,
      offset: s.offset,
      sealed: s.sealed,
      error: s.error,
    }));
    const files: BatchFile[] = batch.files;
    try {
      return await new Promise((ok, fail) => {
        this.#jobs.set(job, { ok: () => {}, fail, batch: ok });
        this.#post(slot, { type: "batch", job, segs, blobs: batch.blobs, files }, transfer);
      });
    } finally {
      slot.busy--;
    }
  }

  #pick(first: BlobPlace | undefined): Slot {
    const least = () => this.#slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    if (!first) return least();
    const key = `${first.pack}/${first.offset}`;
    let slot = this.#routes.get(key);
    if (slot) this.#routes.delete(key);
    else slot = least();
    this.#routes.set(key, slot);
    if (this.#routes.size > ROUTES) this.#routes.delete(this.#routes.keys().next().value!);
    return slot;
  }

  #post(slot: Slot, m: ToWorker, transfer: Transferable[] = []): void {
    slot.worker.postMessage(m, transfer);
  }

  #onMessage(slot: Slot, m: FromWorker): void {
    if (m.type === "load") {
      this.repo.backend.load("data", m.pack, { offset: m.offset, length: m.length }).then(
        (b) => {
          // Transfer without a copy when the bytes own their buffer.
          const bytes = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice();
          this.#post(slot, { type: "loaded", req: m.req, bytes }, [bytes.buffer as ArrayBuffer]);
        },
        (err) => {
          const error = err instanceof Error ? err.message : String(err);
          this.#post(slot, { type: "loaded", req: m.req, error });
        },
      );
      return;
    }
    const job = this.#jobs.get(m.job);
    if (!job) return;
    this.#jobs.delete(m.job);
    if (m.type === "batchDone") job.batch?.(m.results);
    else if (m.type === "done") job.ok({ bytes: m.bytes, warnings: m.warnings });
    else job.fail(new Error(m.error));
  }

  #breakAll(err: Error): void {
    this.#broken = err;
    for (const j of this.#jobs.values()) j.fail(err);
    this.#jobs.clear();
  }

  close(): void {
    for (const s of this.#slots) s.worker.terminate();
    this.#slots.length = 0;
  }
}
