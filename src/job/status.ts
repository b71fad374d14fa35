/**
 * Per-job status records in the state directory, for `cairn status` and for
 * the agent's catch-up decisions.
 *
 * Layout: `<state_dir>/jobs/<job>.json`, one file per job, replaced atomically.
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { AgentHistory, RunOutcome, RunRecord } from "./agent.ts";
import { parseSchedule } from "./schedule.ts";
import { writeFileAtomic } from "../fs/mod.ts";

/** What `cairn status` shows for one job. Times are ISO 8601 strings (JSON-friendly). */
export interface StatusRecord {
  job: string;
  lastStart?: string;
  lastEnd?: string;
  result?: RunOutcome;
  snapshot?: string;
  files?: number;
  bytesAdded?: number;
  error?: string;
  /** The last run that ended in `success` (kept across failures, for alerting). */
  lastSuccess?: string;
  nextRun?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * How a job stands, for monitoring: `overdue` when a scheduled job has let
 * two of its slots pass since it last started (one missed slot can be
 * jitter or a long run; two mean no agent is running it), else its last
 * result. `never` for a job with no run yet.
 */
export type JobHealth = "ok" | "partial" | "failed" | "overdue" | "never";

export function jobHealth(
  record: StatusRecord,
  schedule: string | null | undefined,
  now: number,
): JobHealth {
  if (!record.lastStart) return "never";
  if (schedule) {
    const s = parseSchedule(schedule);
    const first = s.next(Date.parse(record.lastStart));
    const second = first === undefined ? undefined : s.next(first);
    if (second !== undefined && second < now) return "overdue";
  }
  if (record.result === "failed") return "failed";
  if (record.result === "partial") return "partial";
  return "ok";
}

/** The exit code of `cairn status`: 1 if any job failed or is overdue, else 3 if any is partial. */
export function healthExitCode(health: readonly JobHealth[]): 0 | 1 | 3 {
  if (health.some((h) => h === "failed" || h === "overdue")) return 1;
  return health.includes("partial") ? 3 : 0;
}

/** Folds a finished run into the previous record. */
export function applyRun(previous: StatusRecord | undefined, run: RunRecord): StatusRecord {
  const r = run.result;
  const next: StatusRecord = {
    job: run.job,
    lastStart: iso(run.start),
    lastEnd: iso(run.end),
    result: r.result,
  };
  if (r.snapshot !== undefined) next.snapshot = r.snapshot;
  if (r.files !== undefined) next.files = r.files;
  if (r.bytesAdded !== undefined) next.bytesAdded = r.bytesAdded;
  if (r.error !== undefined) next.error = r.error;
  const lastSuccess = r.result === "success" ? next.lastEnd : previous?.lastSuccess;
  if (lastSuccess !== undefined) next.lastSuccess = lastSuccess;
  if (run.nextRun !== undefined) next.nextRun = iso(run.nextRun);
  return next;
}

/** Reads and writes status records under a state directory. */
export class StatusStore implements AgentHistory {
  /** Uses `<stateDir>/jobs/`. */
  constructor(readonly stateDir: string) {}

  #file(job: string): string {
    if (!/^[A-Za-z0-9._-]+$/.test(job) || /^\.+$/.test(job)) {
      throw new TypeError(`Invalid job name "${job}"`);
    }
    return join(this.stateDir, "jobs", `${job}.json`);
  }

  /** The record of `job`, or undefined if it never ran here. A corrupt file is an error. */
  async read(job: string): Promise<StatusRecord | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.#file(job));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as StatusRecord;
    } catch (e) {
      throw new Error(`Cannot read status of job "${job}": ${this.#file(job)} is not valid JSON`, {
        cause: e,
      });
    }
  }

  /** Records of the given jobs, in that order; jobs that never ran get `{ job }` only. */
  async readAll(jobs: readonly string[]): Promise<StatusRecord[]> {
    return await Promise.all(jobs.map(async (job) => (await this.read(job)) ?? { job }));
  }

  /** Replaces the record of `record.job` atomically. */
  async write(record: StatusRecord): Promise<void> {
    const path = this.#file(record.job);
    await Deno.mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, JSON.stringify(record, null, 2) + "\n", { mode: 0o644 });
  }

  /** Folds a finished run into the job's record and returns the new record. */
  async recordRun(run: RunRecord): Promise<StatusRecord> {
    const next = applyRun(await this.read(run.job).catch(() => undefined), run);
    await this.write(next);
    return next;
  }

  /** When `job` last started (ms since the epoch), for the agent's catch-up. */
  async lastStart(job: string): Promise<number | undefined> {
    const record = await this.read(job);
    const t = record?.lastStart ? Date.parse(record.lastStart) : NaN;
    return Number.isNaN(t) ? undefined : t;
  }
}
