/**
 * Cron schedules (in the agent's local time zone) and start jitter.
 *
 * @module
 */

import { Cron } from "croner";

/** A compiled cron expression. */
export interface Schedule {
  /** The expression as written. */
  readonly expression: string;
  /** The first firing time strictly after `after` (ms since the epoch), or undefined if none. */
  next(after: number): number | undefined;
}

const NICKNAMES = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/**
 * Compiles a 5-field cron expression (`minute hour day-of-month month
 * day-of-week`) or one of `@yearly`, `@annually`, `@monthly`, `@weekly`,
 * `@daily`, `@midnight`, `@hourly`. Times are in the local time zone.
 *
 * Croner also accepts 6- and 7-field forms (seconds, years); they are refused
 * so that a stray extra field is an error instead of a job running every second.
 *
 * @throws {RangeError} with a message naming the expression and the problem.
 */
export function parseSchedule(expression: string): Schedule {
  const text = expression.trim();
  const fail = (why: string): never => {
    throw new RangeError(`invalid cron expression "${expression}" (${why})`);
  };
  if (text.startsWith("@")) {
    if (!NICKNAMES.includes(text.toLowerCase())) {
      fail(`supported shortcuts are ${NICKNAMES.join(", ")}`);
    }
  } else {
    const fields = text.split(/\s+/).filter((f) => f !== "").length;
    if (fields !== 5) {
      fail(`expected 5 fields "minute hour day-of-month month day-of-week", got ${fields}`);
    }
  }
  let cron: Cron;
  try {
    cron = new Cron(text.toLowerCase() === "@midnight" ? "@daily" : text, { paused: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/^CronPattern:\s*/, "") : String(e);
    return fail(msg);
  }
  if (!cron.nextRun(new Date(0))) fail("it never fires");
  return {
    expression,
    next(after: number) {
      return cron.nextRun(new Date(after))?.getTime();
    },
  };
}

/**
 * A random start delay, uniform in [0, jitterMs), so a fleet sharing one
 * schedule does not hit the repository at the same second. `random` returns
 * values in [0, 1) like `Math.random`, and is injectable for tests.
 */
export function jitterDelay(jitterMs: number, random: () => number = Math.random): number {
  if (jitterMs <= 0) return 0;
  const r = random();
  if (!(r >= 0 && r < 1)) throw new RangeError(`random() must return a number in [0, 1), got ${r}`);
  // floor keeps the result strictly below jitterMs even when r is just below 1.
  return Math.min(Math.floor(r * jitterMs), jitterMs - 1);
}
