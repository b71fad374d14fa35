/**
 * The heartbeat an agent POSTs with each poll of its job document: how often
 * it polls, which job runs now, and each job's schedule and next two planned
 * starts. `cairn serve` computes "stale" from these facts (see `fleet_view.ts`).
 *
 * Every field but `host` may be missing: an older agent, or one that cannot
 * tell, leaves it out, and the server shows "unknown" rather than guessing.
 */

/** One job as the agent plans it. */
export interface HeartbeatJob {
  job: string;
  /** The cron expression, or null for a job that only runs by `cairn run`. */
  schedule: string | null;
  /**
   * The next planned starts (RFC 3339), soonest first: the first may be in the
   * past when the job is overdue (waiting for another job, say).
   */
  next_runs: string[];
}

/** What the agent sends to `POST /v1/agents/{host}/heartbeat`. */
export interface Heartbeat {
  host: string;
  /** The agent's poll interval in seconds. */
  poll_seconds?: number;
  /** The job running now, or null. */
  running?: string | null;
  jobs?: HeartbeatJob[];
}

const MAX_JOBS = 1000;
const MAX_RUNS = 2;

const name = (v: unknown) => typeof v === "string" && v !== "" && v.length <= 255;
const stamp = (v: unknown) =>
  typeof v === "string" && v.length <= 64 && !Number.isNaN(Date.parse(v));

/** Returns why `x` is not a {@link Heartbeat} (one line), or undefined if it is one. */
export function heartbeatProblem(x: unknown): string | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return "heartbeat is not an object";
  const h = x as Record<string, unknown>;
  if (!name(h.host)) return "heartbeat.host must be a non-empty string";
  const poll = h.poll_seconds;
  if (poll !== undefined && (typeof poll !== "number" || !(poll > 0) || poll > 366 * 86400)) {
    return "heartbeat.poll_seconds must be a positive number of seconds";
  }
  if (h.running !== undefined && h.running !== null && !name(h.running)) {
    return "heartbeat.running must be a job name or null";
  }
  if (h.jobs === undefined) return undefined;
  if (!Array.isArray(h.jobs) || h.jobs.length > MAX_JOBS) {
    return `heartbeat.jobs must be a list of at most ${MAX_JOBS} jobs`;
  }
  for (const [i, j] of h.jobs.entries()) {
    const at = `heartbeat.jobs[${i}]`;
    if (typeof j !== "object" || j === null) return `${at} is not an object`;
    const job = j as Record<string, unknown>;
    if (!name(job.job)) return `${at}.job must be a non-empty string`;
    if (job.schedule !== null && !name(job.schedule)) {
      return `${at}.schedule must be a string or null`;
    }
    const runs = job.next_runs;
    if (!Array.isArray(runs) || runs.length > MAX_RUNS || !runs.every(stamp)) {
      return `${at}.next_runs must be a list of at most ${MAX_RUNS} RFC 3339 timestamps`;
    }
  }
  return undefined;
}

/** Copies only the known fields of a valid heartbeat. */
export function pickHeartbeat(h: Heartbeat): Heartbeat {
  return {
    host: h.host,
    ...(h.poll_seconds !== undefined ? { poll_seconds: h.poll_seconds } : {}),
    ...(h.running !== undefined ? { running: h.running } : {}),
    ...(h.jobs !== undefined
      ? {
        jobs: h.jobs.map((j) => ({
          job: j.job,
          schedule: j.schedule,
          next_runs: [...j.next_runs],
        })),
      }
      : {}),
  };
}
