/**
 * The restore's worker pool. Files go to the worker that already holds the
 * segment their first blob is in (small files share segments, and opening
 * one costs a decrypt and a decompress), else to the least busy one.
 * Memory is bounded by the files in flight (the restore caps them), each
 * holding at most `DEFAULT_PREFETCH_BYTES` of blobs fetched ahead, plus
 * each worker's cache of 16 segments.
 */
import type { Repository } from "../repo/mod.ts";
import type { BlobPlace, FromWorker, ToWorker } from "./_protocol.ts";
import type { FileSpec } from "./_write_file.ts";

interface Slot {
  worker: Worker;
  busy: number;
}

interface Job {
  ok: (r: { bytes: number; warnings: string[] }) => void;
  fail: (e: Error) => void;
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
    if (m.type === "done") job.ok({ bytes: m.bytes, warnings: m.warnings });
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
