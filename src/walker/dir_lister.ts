import type { DirEntry, WalkError } from "./list_dir.ts";
import {
  decodeInfo,
  type EncodedListing,
  FIELDS,
  type FromLister,
  type ToLister,
} from "./_lister_protocol.ts";

/** What the lister must know to walk only where the backup will. */
export interface DirListerOptions {
  excludes?: readonly string[];
  /** Case-insensitive exclude patterns. */
  iexcludes?: readonly string[];
  excludeIfPresent?: readonly string[];
  /** The sources' devices, with `--one-file-system`. */
  devs?: readonly number[];
  /** Entries listed ahead at most (bounds memory and the work lost if the walk stops using it); default 8,192. */
  window?: number;
}

/** A directory's listing as {@link listDir} gives it. */
export interface Listing {
  entries: DirEntry[];
  errors: WalkError[];
}

/**
 * Consumed entries acknowledged at once, so the worker goes on: half the
 * default window, since each message to the worker cost the walk 2-4 ms of
 * wall time on the loaded 2-core machine (CPU profile of an unchanged
 * kernel-tree rerun: 176 ms in 80 posts at 1,024, 76 ms in 20 at 4,096).
 * `take` acknowledges whatever it consumed before it waits, so a smaller
 * window still moves.
 */
const ACK_EVERY = 4096;

/**
 * Lists directories ahead of a depth-first walk, in a worker thread: on a
 * tree that has not changed, readdir and lstat are most of what a backup's
 * main thread does (0.8 of 2.1 s on the Linux tree, in a CPU profile).
 *
 * {@link walk} starts a source directory; the worker lists it and every
 * directory below it that the walk will enter (same exclusion rules) in
 * the walk's order, sorted, parents first. {@link take} hands out the
 * listing of one directory: listings for directories the walk skipped are
 * dropped on the way, and a directory the worker did not list (or any
 * failure of the worker) gives undefined, for the caller to list itself.
 */
export class DirLister {
  #worker: Worker | undefined;
  readonly #queue: EncodedListing[] = [];
  #head = 0;
  #walks = 0;
  #done = 0;
  #unacked = 0;
  #failed = false;
  #wake: (() => void) | undefined;

  constructor(private readonly opts: DirListerOptions = {}) {}

  /** Starts listing source directory `root` (absolute, resolved). */
  walk(root: string): void {
    if (this.#failed) return;
    this.#start().postMessage({ type: "walk", root } satisfies ToLister);
    this.#walks++;
  }

  /** The listing of `dir`, or undefined when the caller must list it itself. */
  async take(dir: string): Promise<Listing | undefined> {
    for (;;) {
      while (this.#head < this.#queue.length) {
        const l = this.#queue[this.#head];
        const order = walkOrder(l.dir, dir);
        if (order > 0) return undefined; // the worker went past it: not in its walk
        this.#queue[this.#head++] = undefined!;
        this.#consumed(l.names.length + 1);
        if (order === 0) return decode(l);
      }
      this.#head = this.#queue.length = 0;
      if (this.#failed || this.#done === this.#walks) return undefined;
      this.#ack();
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** Stops the worker; {@link take} gives undefined from now on. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#failed = true;
    this.#queue.length = this.#head = 0;
    this.#wake?.();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const w = spare ?? listerWorker();
    spare = undefined;
    w.onmessage = (e: MessageEvent<FromLister>) => {
      const m = e.data;
      if (m.type === "listings") this.#queue.push(...m.items);
      else this.#done++;
      this.#notify();
    };
    w.onerror = (e) => {
      e.preventDefault();
      this.#failed = true; // the walk lists by itself from here on
      this.#notify();
    };
    w.postMessage(
      {
        type: "init",
        excludes: [...(this.opts.excludes ?? [])],
        iexcludes: [...(this.opts.iexcludes ?? [])],
        markers: [...(this.opts.excludeIfPresent ?? [])],
        devs: this.opts.devs ? [...this.opts.devs] : null,
        window: this.opts.window ?? 8192,
      } satisfies ToLister,
    );
    return (this.#worker = w);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #consumed(entries: number): void {
    this.#unacked += entries;
    if (this.#unacked >= ACK_EVERY) this.#ack();
  }

  #ack(): void {
    if (this.#unacked === 0 || !this.#worker) return;
    this.#worker.postMessage({ type: "consumed", entries: this.#unacked } satisfies ToLister);
    this.#unacked = 0;
  }
}

function listerWorker(): Worker {
  return new Worker(new URL("./_lister_worker.ts", import.meta.url).href, { type: "module" });
}

/** A lister worker started ahead of need by {@link prestartLister}. */
let spare: Worker | undefined;

/**
 * Starts a lister's worker now, for the next {@link DirLister} to use:
 * its isolate and modules load while the caller does other work (a
 * backup opens the repository meanwhile; the walk of an unchanged kernel
 * tree otherwise began by waiting 44-84 ms for its first listing). Dispose
 * of the result when done: a worker no lister took is stopped then.
 */
export function prestartLister(): Disposable {
  const w = spare ??= listerWorker();
  w.onerror = (e) => {
    e.preventDefault(); // a lister that cannot start lists nothing: the walk lists by itself
    if (spare === w) spare = undefined;
    w.terminate();
  };
  return {
    [Symbol.dispose]() {
      if (spare !== w) return;
      spare = undefined;
      w.terminate();
    },
  };
}

function decode(l: EncodedListing): Listing {
  if (l.error !== undefined) throw new Error(l.error);
  const base = l.dir.endsWith("/") ? l.dir : `${l.dir}/`;
  const entries: DirEntry[] = new Array(l.names.length);
  for (let i = 0; i < l.names.length; i++) {
    const name = l.names[i];
    entries[i] = { name, path: base + name, info: decodeInfo(l.nums, i * FIELDS) };
  }
  return { entries, errors: l.errors };
}

/**
 * Where path `a` comes relative to `b` in a depth-first walk that visits a
 * directory before its contents and names in sorted order: < 0 before,
 * 0 the same, > 0 after.
 */
export function walkOrder(a: string, b: string): number {
  if (a === b) return 0;
  const pa = a.split("/");
  const pb = b.split("/");
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return pa.length - pb.length;
}
