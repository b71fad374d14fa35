/**
 * A {@link Backend} wrapper that retries transient failures with bounded
 * exponential backoff. Safe because every operation is idempotent: saves
 * rewrite the same bytes, loads and lists only read.
 *
 * @module
 */

import { abortableSleep } from "../fs/mod.ts";
import {
  AlreadyExistsError,
  type Backend,
  type BackendOp,
  type ByteRange,
  type FileStat,
  type FileType,
  NotFoundError,
  type OpOptions,
  type Retention,
  type SaveOptions,
} from "./backend.ts";

/** What {@link RetryOptions.onRetry} is told before each wait. */
export interface RetryEvent {
  op: BackendOp;
  type: FileType;
  /** The file's name; absent for `list`. */
  name?: string;
  /** The attempt that just failed, from 1. */
  attempt: number;
  delayMs: number;
  error: unknown;
}

/** Tuning and test hooks for {@link RetryBackend}. */
export interface RetryOptions {
  /** Attempts in all, the first included. Default 6. */
  maxAttempts?: number;
  /** Wait before the first retry; doubles each time. Default 250 ms. */
  baseDelayMs?: number;
  /** Upper bound for one wait. Default 10 s. */
  maxDelayMs?: number;
  /** Waits `ms`, rejecting with the signal's reason if it aborts first. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1); each wait is 50–100 % of its step. */
  random?: () => number;
  /** Which errors are worth another attempt. Default {@link isTransientError}. */
  isRetryable?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log the failure. */
  onRetry?: (event: RetryEvent) => void;
}

/**
 * Whether an error might go away on its own. Missing files, bad arguments,
 * aborts and filesystem answers that will not change (permission, wrong
 * kind of file) are permanent; anything else is worth retrying.
 */
export function isTransientError(error: unknown): boolean {
  // Errors that know whether they are worth retrying say so (an S3 answer:
  // a 503 is, a 403 is not; a cut-off body is, though fetch calls it a TypeError).
  const own = (error as { transient?: unknown } | null)?.transient;
  if (typeof own === "boolean") return own;
  if (error instanceof NotFoundError || error instanceof AlreadyExistsError) return false;
  if (error instanceof TypeError || error instanceof RangeError) return false;
  if (error instanceof DOMException) {
    return error.name !== "AbortError" && error.name !== "TimeoutError";
  }
  return !PERMANENT_OS_ERRORS.some((Class) => error instanceof Class);
}

/**
 * Whether a failed operation may still have taken effect on storage: the
 * request was sent and only its answer went missing. Backends say so with a
 * `mayHaveApplied: true` property on the error.
 */
export function mayHaveApplied(error: unknown): boolean {
  return (error as { mayHaveApplied?: unknown } | null)?.mayHaveApplied === true;
}

const PERMANENT_OS_ERRORS = [
  Deno.errors.NotFound,
  Deno.errors.PermissionDenied,
  Deno.errors.NotCapable,
  Deno.errors.AlreadyExists,
  Deno.errors.IsADirectory,
  Deno.errors.NotADirectory,
];

/** Wraps a backend and retries its transient failures. */
export class RetryBackend implements Backend {
  readonly #maxAttempts: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #isRetryable: (error: unknown) => boolean;
  readonly #onRetry: ((event: RetryEvent) => void) | undefined;

  /** Wraps `inner`; see {@link RetryOptions} for the defaults. */
  constructor(readonly inner: Backend, options: RetryOptions = {}) {
    this.#maxAttempts = options.maxAttempts ?? 6;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 10_000;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#random = options.random ?? Math.random;
    this.#isRetryable = options.isRetryable ?? isTransientError;
    this.#onRetry = options.onRetry;
    if (!Number.isSafeInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new RangeError(`Invalid maxAttempts ${this.#maxAttempts}: must be a positive integer`);
    }
  }

  /** The wrapped backend's location. */
  get location(): string {
    return this.inner.location;
  }

  /** Saves, retrying transient failures. */
  save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions): Promise<void> {
    return this.#retry(
      "save",
      type,
      name,
      options,
      () => this.inner.save(type, name, data, options),
    );
  }

  /** Loads, retrying transient failures. */
  load(type: FileType, name: string, range?: ByteRange, options?: OpOptions): Promise<Uint8Array> {
    return this.#retry(
      "load",
      type,
      name,
      options,
      () => this.inner.load(type, name, range, options),
    );
  }

  /** Stats, retrying transient failures. */
  stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat> {
    return this.#retry("stat", type, name, options, () => this.inner.stat(type, name, options));
  }

  /**
   * Lists, restarting the listing after a transient failure and skipping the
   * names already yielded, so a consumer sees each file once. An attempt that
   * yielded new files resets the count: long listings may break more often
   * than `maxAttempts` in all, but never that often without progress.
   */
  async *list(type: FileType, options?: OpOptions): AsyncIterable<FileStat> {
    const seen = new Set<string>();
    for (let attempt = 1;; attempt++) {
      options?.signal?.throwIfAborted();
      const seenBefore = seen.size;
      try {
        for await (const info of this.inner.list(type, options)) {
          if (seen.has(info.name)) continue;
          seen.add(info.name);
          yield info;
        }
        return;
      } catch (error) {
        if (seen.size > seenBefore) attempt = 1;
        await this.#backOff("list", type, undefined, attempt, error, options);
      }
    }
  }

  /**
   * Removes, retrying transient failures. When the failed attempt's error
   * says the removal may have happened (see {@link mayHaveApplied}: an S3
   * DELETE whose answer was lost), a retry that finds the file gone
   * succeeds instead of rejecting with `NotFoundError`.
   */
  remove(type: FileType, name: string, options?: OpOptions): Promise<void> {
    let applied = false;
    return this.#retry("remove", type, name, options, async () => {
      try {
        await this.inner.remove(type, name, options);
      } catch (error) {
        if (applied && error instanceof NotFoundError) return;
        applied ||= mayHaveApplied(error);
        throw error;
      }
    });
  }

  /** The wrapped backend's Object Lock retention, retrying transient failures. */
  retention(type: FileType, name: string, options?: OpOptions): Promise<Retention | undefined> {
    const inner = this.inner;
    if (!inner.retention) return Promise.resolve(undefined);
    return this.#retry("stat", type, name, options, () => inner.retention!(type, name, options));
  }

  /** Sets the wrapped backend's retention of a file, retrying transient failures. */
  setRetention(type: FileType, name: string, r: Retention, options?: OpOptions): Promise<void> {
    const inner = this.inner;
    if (!inner.setRetention) {
      return Promise.reject(new TypeError(`${this.location} has no Object Lock`));
    }
    return this.#retry(
      "save",
      type,
      name,
      options,
      () => inner.setRetention!(type, name, r, options),
    );
  }

  /** Closes the wrapped backend once; closing is not retried. */
  close(): Promise<void> {
    return this.inner.close();
  }

  async #retry<T>(
    op: BackendOp,
    type: FileType,
    name: string,
    options: OpOptions | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1;; attempt++) {
      options?.signal?.throwIfAborted();
      try {
        return await fn();
      } catch (error) {
        await this.#backOff(op, type, name, attempt, error, options);
      }
    }
  }

  /** Rethrows `error` if it is final, else waits before the next attempt. */
  async #backOff(
    op: BackendOp,
    type: FileType,
    name: string | undefined,
    attempt: number,
    error: unknown,
    options: OpOptions | undefined,
  ): Promise<void> {
    const signal = options?.signal;
    if (signal?.aborted || attempt >= this.#maxAttempts || !this.#isRetryable(error)) throw error;
    const step = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** (attempt - 1));
    const delayMs = Math.round(step * (0.5 + 0.5 * this.#random()));
    this.#onRetry?.({ op, type, name, attempt, delayMs, error });
    await this.#sleep(delayMs, signal);
  }
}
