/**
 * A {@link Backend} wrapper that fails on demand, for testing how the engine
 * copes with flaky storage, lost acknowledgements and crashes.
 *
 * @module
 */

import type {
  Backend,
  BackendOp,
  ByteRange,
  FileStat,
  FileType,
  OpOptions,
  SaveOptions,
} from "./backend.ts";

/**
 * Decides per call whether to fail: return an error to throw it instead of
 * calling the wrapped backend. `list` calls it once with no name before
 * listing, then once per entry (with its name) before yielding it, so a test
 * can break a listing half way.
 */
export type FaultHook = (
  op: BackendOp,
  type: FileType,
  name: string | undefined,
) => Error | undefined;

/** The error thrown by faults that were not given one of their own. */
export class InjectedFault extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InjectedFault";
  }
}

/** Options for {@link FaultBackend.failNext}. */
export interface FailNextOptions {
  /**
   * Run the operation on the wrapped backend first and fail afterwards, as
   * when a save lands but its acknowledgement is lost. Default: fail before.
   */
  after?: boolean;
}

interface QueuedFault {
  op: BackendOp | "any";
  remaining: number;
  error?: Error;
  after: boolean;
}

/** Wraps a backend and injects failures into chosen operations. */
export class FaultBackend implements Backend {
  /** Consulted on every call; see {@link FaultHook}. */
  hook: FaultHook | undefined;
  /** How many times each operation was attempted, failed ones included. */
  readonly calls: Record<BackendOp, number> = { save: 0, load: 0, stat: 0, list: 0, remove: 0 };
  readonly #queue: QueuedFault[] = [];
  #savesBeforeCrash: number | undefined;
  #crashError: Error | undefined;

  /** Wraps `inner`; it behaves exactly like `inner` until a fault is set. */
  constructor(readonly inner: Backend, options: { hook?: FaultHook } = {}) {
    this.hook = options.hook;
  }

  /** The wrapped backend's location. */
  get location(): string {
    return this.inner.location;
  }

  /** Fails the next `count` calls of `op` (or of any op) with `error`. */
  failNext(
    op: BackendOp | "any",
    count = 1,
    error?: Error,
    options: FailNextOptions = {},
  ): this {
    this.#queue.push({ op, remaining: count, error, after: options.after ?? false });
    return this;
  }

  /**
   * Simulates the process dying: lets the next `saves` saves through, then
   * fails every call, as if nothing after that point ever reached storage.
   * Saves are counted when they start, so concurrent saves crash predictably.
   */
  crashAfterSaves(saves: number, error?: Error): this {
    this.#savesBeforeCrash = saves;
    this.#crashError = error;
    return this;
  }

  /** Clears every queued fault, the hook and any crash. */
  heal(): this {
    this.#queue.length = 0;
    this.hook = undefined;
    this.#savesBeforeCrash = undefined;
    this.#crashError = undefined;
    return this;
  }

  /** Saves through the wrapped backend unless a fault says otherwise. */
  async save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions): Promise<void> {
    const after = this.#before("save", type, name);
    await this.inner.save(type, name, data, options);
    if (after) throw after;
  }

  /** Loads through the wrapped backend unless a fault says otherwise. */
  async load(
    type: FileType,
    name: string,
    range?: ByteRange,
    options?: OpOptions,
  ): Promise<Uint8Array> {
    const after = this.#before("load", type, name);
    const data = await this.inner.load(type, name, range, options);
    if (after) throw after;
    return data;
  }

  /** Stats through the wrapped backend unless a fault says otherwise. */
  async stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat> {
    const after = this.#before("stat", type, name);
    const info = await this.inner.stat(type, name, options);
    if (after) throw after;
    return info;
  }

  /** Lists through the wrapped backend, consulting the hook per entry. */
  async *list(type: FileType, options?: OpOptions): AsyncIterable<FileStat> {
    const after = this.#before("list", type, undefined);
    for await (const info of this.inner.list(type, options)) {
      const error = this.hook?.("list", type, info.name);
      if (error) throw error;
      yield info;
    }
    if (after) throw after;
  }

  /** Removes through the wrapped backend unless a fault says otherwise. */
  async remove(type: FileType, name: string, options?: OpOptions): Promise<void> {
    const after = this.#before("remove", type, name);
    await this.inner.remove(type, name, options);
    if (after) throw after;
  }

  /** Closes the wrapped backend; never fails by injection. */
  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Counts the call and throws any fault due before it; returns the fault to
   * throw once the wrapped call has succeeded, if one is queued for after.
   */
  #before(op: BackendOp, type: FileType, name: string | undefined): Error | undefined {
    this.calls[op]++;
    if (this.#savesBeforeCrash !== undefined && this.#savesBeforeCrash <= 0) {
      throw this.#crashError ?? new InjectedFault(`Injected crash: ${op} after the last save`);
    }
    const hooked = this.hook?.(op, type, name);
    if (hooked) throw hooked;
    const fault = this.#queue.find((f) => f.remaining > 0 && (f.op === op || f.op === "any"));
    if (fault) fault.remaining--;
    const error = fault &&
      (fault.error ??
        new InjectedFault(`Injected ${op} failure for ${type} file "${name ?? "*"}"`));
    if (error && !fault.after) throw error;
    if (op === "save" && this.#savesBeforeCrash !== undefined) this.#savesBeforeCrash--;
    return error;
  }
}
