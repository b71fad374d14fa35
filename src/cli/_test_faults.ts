/**
 * Faults the end-to-end tests inject into a real cairn process through the
 * environment, to prove what a full disk or a kill leaves behind. Both act
 * on the repository's backend, so they reach every pack a backup writes,
 * the workers' included. Unset (always, outside tests) they change nothing.
 *
 * - `CAIRN_TEST_FAIL_DATA_SAVES_AFTER=N`: every data (pack) save after the
 *   first N fails as on a full disk.
 * - `CAIRN_TEST_STALL_AFTER_DATA_SAVES=N`: once N data saves are durable,
 *   no later one completes (unless aborted); when the other saves under way
 *   have landed, one line saying so goes to stderr, and the test kills or
 *   interrupts the process there, at a known point.
 *
 * @module
 */
import { type Backend, FaultBackend, type FileType, type OpOptions } from "../backend/mod.ts";

/** The line written to stderr when saves stall. */
export const STALL_LINE = "cairn-test: saves stalled";

/** `backend`, wrapped in the faults `env` asks for, if any. */
export function withTestFaults(
  backend: Backend,
  env: Record<string, string | undefined>,
  err: (line: string) => void,
): Backend {
  const failAfter = count(env, "CAIRN_TEST_FAIL_DATA_SAVES_AFTER");
  const stallAfter = count(env, "CAIRN_TEST_STALL_AFTER_DATA_SAVES");
  if (failAfter === undefined && stallAfter === undefined) return backend;
  return new TestFaultBackend(backend, failAfter, stallAfter, () => err(STALL_LINE));
}

function count(env: Record<string, string | undefined>, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`${name}="${v}" is not a count`);
  return n;
}

class TestFaultBackend extends FaultBackend {
  #dataSaves = 0;
  #done = 0;
  #stalled = false;
  #announced = false;
  /** Saves passed on and not yet settled. */
  #active = 0;

  constructor(
    inner: Backend,
    private readonly failAfter: number | undefined,
    private readonly stallAfter: number | undefined,
    private readonly onStall: () => void,
  ) {
    super(inner, {
      hook: (op, type, name) => {
        if (op !== "save" || type !== "data" || this.failAfter === undefined) return undefined;
        if (++this.#dataSaves <= this.failAfter) return undefined;
        return new Error(`Cannot save data file ${name}: No space left on device (os error 28)`);
      },
    });
  }

  override async save(
    type: FileType,
    name: string,
    data: Uint8Array,
    options?: OpOptions,
  ): Promise<void> {
    if (this.#stalled && type === "data") {
      return new Promise<void>((_, reject) => {
        const signal = options?.signal;
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    this.#active++;
    try {
      await super.save(type, name, data, options);
    } finally {
      this.#active--;
    }
    if (type === "data" && this.stallAfter !== undefined && ++this.#done >= this.stallAfter) {
      this.#stalled = true;
    }
    this.#announce();
  }

  /**
   * Says so once the saves have stalled and every other save under way
   * (the index files the stored packs call for) has landed, so that what a
   * kill leaves behind does not depend on how fast the disk was.
   */
  #announce(): void {
    if (!this.#stalled || this.#announced) return;
    // A turn later, so the save just stored has been recorded (and any index
    // file it calls for started) before the count is looked at.
    setTimeout(() => {
      if (this.#active > 0 || this.#announced) return;
      this.#announced = true;
      // Stay alive, stalled, until the test kills the process.
      setInterval(() => {}, 60_000);
      this.onStall();
    }, 0);
  }
}
