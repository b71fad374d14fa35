/**
 * Time as the agent sees it, injectable so the scheduler can be tested with
 * virtual time.
 *
 * @module
 */

import { abortableSleep } from "../fs/mod.ts";

/** A source of "now" and of waiting. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it is aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: `Date.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: abortableSleep,
};

/**
 * Virtual time for tests. `sleep()` advances time instantly (after letting
 * other pending work run), firing callbacks registered with `at()` on the way.
 * It models one sleeper at a time, which is how the agent uses its clock.
 */
export class FakeClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => unknown }[] = [];

  /** Starts at `start` (ms since the epoch). */
  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Calls `fn` when virtual time reaches `time`. */
  at(time: number, fn: () => unknown): void {
    this.#timers.push({ at: time, fn });
    this.#timers.sort((a, b) => a.at - b.at);
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const tick = () => new Promise((r) => setTimeout(r, 0));
    signal?.throwIfAborted();
    await tick();
    signal?.throwIfAborted();
    const target = this.#now + Math.max(0, ms);
    while (this.#timers.length && this.#timers[0].at <= target) {
      const t = this.#timers.shift()!;
      this.#now = Math.max(this.#now, t.at);
      // Not awaited: a callback may wait for the sleeper itself (e.g. agent.stop()).
      Promise.resolve().then(t.fn).catch(() => {});
      await tick();
      signal?.throwIfAborted();
    }
    this.#now = target;
  }
}
