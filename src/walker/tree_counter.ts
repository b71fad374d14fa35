import type { FromLister, ToLister } from "./_lister_protocol.ts";

/** What a counting walk found so far; `done` on the last message. */
export interface CountTotals {
  files: number;
  dirs: number;
  bytes: number;
  done: boolean;
}

/** What the counter must know to count what the backup will read. */
export interface TreeCounterOptions {
  excludes?: readonly string[];
  iexcludes?: readonly string[];
  excludeIfPresent?: readonly string[];
  /** The sources' devices, with `--one-file-system`. */
  devs?: readonly number[];
  /** Files larger than this are left out, as `--exclude-larger-than` does. */
  largerThan?: number;
}

/**
 * Counts the files and bytes a backup will visit, for progress totals, in a
 * worker of its own running the lister's code (`_lister_worker.ts`) with
 * the walk's rules: the walk never waits for it, and closing the lister
 * (once file savers bound the backup) does not stop the count.
 * {@link totals} grows until `done`.
 */
export class TreeCounter {
  #worker: Worker | undefined;
  #totals: CountTotals = { files: 0, dirs: 0, bytes: 0, done: false };

  constructor(roots: readonly string[], opts: TreeCounterOptions = {}) {
    const w = new Worker(new URL("./_lister_worker.ts", import.meta.url).href, { type: "module" });
    w.onmessage = (e: MessageEvent<FromLister>) => {
      const m = e.data;
      if (m.type !== "totals") return;
      this.#totals = { files: m.files, dirs: m.dirs, bytes: m.bytes, done: m.done };
      if (m.done) this.close();
    };
    w.onerror = (e) => {
      e.preventDefault(); // totals stay as they are; progress shows no percentage
      this.close();
    };
    w.postMessage(
      {
        type: "init",
        excludes: [...(opts.excludes ?? [])],
        iexcludes: [...(opts.iexcludes ?? [])],
        markers: [...(opts.excludeIfPresent ?? [])],
        devs: opts.devs ? [...opts.devs] : null,
        window: 0,
      } satisfies ToLister,
    );
    w.postMessage(
      { type: "count", roots: [...roots], largerThan: opts.largerThan ?? null } satisfies ToLister,
    );
    this.#worker = w;
  }

  /** The totals counted so far. */
  get totals(): Readonly<CountTotals> {
    return this.#totals;
  }

  /** Stops counting (idempotent). */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}
