import { CorruptError } from "./format.ts";

/**
 * The most entries one walk of a snapshot's trees visits before it stops.
 * Identical directories share one tree, so a small repository can describe
 * a tree of any size (a subtree named twice at each of 40 levels is 2^41
 * entries in 40 trees); the walk counts what it visits rather than what it
 * reads. Fifty million is far above the largest real backups (a whole
 * Linux server holds a few million entries) and still reached in minutes.
 * `CAIRN_MAX_ENTRIES` raises (or, for tests, lowers) it.
 */
export const DEFAULT_MAX_WALK_ENTRIES = 50_000_000;

/** Entries visited between two turns of the event loop, so that signals and timers run. */
const YIELD_EVERY = 2048;

/** A walk of a snapshot's trees went past its entry limit or met a cycle. */
export class WalkLimitError extends CorruptError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WalkLimitError";
  }
}

/** The entry limit for walks: `CAIRN_MAX_ENTRIES` when set to a positive integer, else the default. */
export function walkLimit(): number {
  let raw: string | undefined;
  try {
    raw = Deno.env.get("CAIRN_MAX_ENTRIES");
  } catch { /* no env permission: the default */ }
  const n = Number(raw);
  return raw !== undefined && Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MAX_WALK_ENTRIES;
}

/**
 * What one walk of stored trees may spend: entries visited, counted against
 * a limit, with a turn of the event loop every few thousand so a walk over
 * cached trees (which never waits on I/O) still lets SIGINT be handled.
 */
export class WalkBudget {
  #entries = 0;
  #sinceYield = 0;
  readonly limit: number;

  constructor(opts: { limit?: number; signal?: AbortSignal } = {}) {
    this.limit = opts.limit ?? walkLimit();
    this.signal = opts.signal;
  }

  readonly signal?: AbortSignal;

  /** Entries counted so far. */
  get entries(): number {
    return this.#entries;
  }

  /**
   * Counts `n` more entries. Throws {@link WalkLimitError} past the limit
   * and the signal's reason once aborted; now and then waits one
   * event-loop turn (then it returns a promise, else undefined, so the
   * common case costs no await).
   */
  spend(n = 1): Promise<void> | undefined {
    this.signal?.throwIfAborted();
    this.#entries += n;
    if (this.#entries > this.limit) {
      throw new WalkLimitError(
        `Stopped after ${this.limit} entries: the snapshot's trees repeat subtrees beyond any ` +
          `real backup (damaged or hostile repository?); set CAIRN_MAX_ENTRIES to allow more`,
      );
    }
    this.#sinceYield += n;
    if (this.#sinceYield < YIELD_EVERY) return undefined;
    this.#sinceYield = 0;
    return new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() =>
      this.signal?.throwIfAborted()
    );
  }
}

/** The error for a tree that contains itself: a walk would never end. */
export function cycleError(treeId: string, path: string): WalkLimitError {
  return new WalkLimitError(`tree ${treeId} at ${path} contains itself (damaged repository?)`);
}
