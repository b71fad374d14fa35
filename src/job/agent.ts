/**
 * The scheduler core of `cairn agent`: runs jobs on their cron schedules.
 *
 * Guarantees:
 * - One run at a time, for all jobs: due jobs wait in a single queue ordered by
 *   due time. This never runs two runs of one job at once, and it also keeps
 *   two jobs from competing for the same disks and repository lock.
 * - Slots that pass while a run is in progress are skipped, not queued.
 * - Catch-up: at start (and for jobs added by a reload), a job whose next slot
 *   after its last recorded start has already passed (the machine was off) runs
 *   once, not once per missed slot. A job that never ran is due at once.
 * - Jitter: each planned start is delayed by a random amount in [0, jitter).
 * - `reload()` swaps the job set without touching a running job; unchanged
 *   jobs keep their planned start, changed or new ones are planned afresh.
 * - `stop()` aborts the signal given to the running job and resolves once it
 *   has returned (at its next safe point).
 *
 * Jobs without `schedule` are never run by the agent (only by `cairn run`).
 *
 * @module
 */

import { onAbort } from "../fs/mod.ts";
import { type Clock, systemClock } from "./clock.ts";
import { jitterDelay, parseSchedule, type Schedule } from "./schedule.ts";
import type { JobDefinition } from "./types.ts";

/** How a run ended. `skipped`: a `before` hook failed, so nothing was backed up. */
export type RunOutcome = "success" | "partial" | "failed" | "skipped";

/**
 * What one run of a job returns to the agent and `cairn run` (and what the
 * status store records); the fleet turns it into a remote `RunReport`.
 */
export interface RunResult {
  result: RunOutcome;
  /** Id of the snapshot written, if any. */
  snapshot?: string;
  /** Files in the snapshot. */
  files?: number;
  /** Bytes added to the repository. */
  bytesAdded?: number;
  /** Why it failed, was skipped, or was partial. */
  error?: string;
}

/** Runs one job; must return (or throw) soon after `signal` is aborted. */
export type RunJob = (job: JobDefinition, options: { signal: AbortSignal }) => Promise<RunResult>;

/** One finished run, as handed to {@linkcode AgentOptions.onRun}. */
export interface RunRecord {
  job: string;
  /** ms since the epoch. */
  start: number;
  end: number;
  result: RunResult;
  /** When the agent plans the job's next start (ms since the epoch), if scheduled. */
  nextRun?: number;
}

/** Where the agent learns when a job last started (e.g. the status store). */
export interface AgentHistory {
  lastStart(job: string): Promise<number | undefined>;
}

/** Options for {@linkcode Agent}. */
export interface AgentOptions {
  jobs: readonly JobDefinition[];
  runJob: RunJob;
  clock?: Clock;
  /** Returns values in [0, 1); default `Math.random`. */
  random?: () => number;
  /** Default: no history, so every scheduled job is due at start. */
  history?: AgentHistory;
  /** Called after every run (write status, metrics); errors are logged, not fatal. */
  onRun?: (record: RunRecord) => void | Promise<void>;
  /** Default: `console.error`. */
  log?: (message: string) => void;
  /** Longest single sleep, so wall-clock jumps (suspend, NTP) are noticed. Default 60 s. */
  maxSleepMs?: number;
}

interface Entry {
  job: JobDefinition;
  schedule: Schedule;
  dueAt: number;
}

/** The job scheduler behind `cairn agent` and `cairn agent --once`. */
export class Agent {
  #opts:
    & Required<Omit<AgentOptions, "history" | "onRun">>
    & Pick<AgentOptions, "history" | "onRun">;
  #jobs: readonly JobDefinition[];
  #pending?: readonly JobDefinition[];
  #entries = new Map<string, Entry>();
  /** Reference time per job: the end of its last run here, else its last recorded start. */
  #ref = new Map<string, number | undefined>();
  #wake = new AbortController();
  #current?: { job: string; controller: AbortController };
  #loop?: Promise<void>;
  #stopping = false;

  constructor(options: AgentOptions) {
    this.#opts = {
      clock: systemClock,
      random: Math.random,
      log: (m) => console.error(m),
      maxSleepMs: 60_000,
      ...options,
    };
    this.#jobs = options.jobs;
  }

  /** Runs until `stop()` is called or `signal` is aborted. */
  run(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#loop) throw new Error("Agent is already running");
    this.#stopping = false;
    // A signal aborted before (a SIGTERM while the agent was starting) stops it too.
    const off = onAbort(options.signal, () => void this.stop());
    this.#loop = this.#runLoop().finally(() => {
      this.#loop = undefined;
      off();
    });
    return this.#loop;
  }

  /**
   * Runs every scheduled job that is due now (never ran, or missed its last
   * slot), one after another, without jitter; for `cairn agent --once`.
   */
  async runOnce(options: { signal?: AbortSignal } = {}): Promise<RunRecord[]> {
    if (this.#loop) throw new Error("Agent is already running");
    this.#stopping = false;
    const off = onAbort(options.signal, () => void this.stop());
    const records: RunRecord[] = [];
    const once = (async () => {
      await this.#apply(this.#pending ?? this.#jobs, { jitter: false });
      this.#pending = undefined;
      const now = this.#opts.clock.now();
      for (const job of this.#jobs) {
        const entry = this.#entries.get(job.name);
        if (this.#stopping) break;
        if (entry && entry.dueAt <= now) records.push(await this.#runEntry(entry));
      }
    })();
    this.#loop = once.finally(() => (this.#loop = undefined));
    try {
      await this.#loop;
    } finally {
      off();
    }
    return records;
  }

  /** Replaces the job set; takes effect at once between runs, never interrupting one. */
  reload(jobs: readonly JobDefinition[]): void {
    if (this.#loop) {
      this.#pending = jobs;
      this.#wake.abort();
    } else {
      this.#jobs = jobs;
    }
  }

  /** Asks the running job to stop at a safe point and resolves when the agent has stopped. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#current?.controller.abort(new DOMException("cairn agent is stopping", "AbortError"));
    this.#wake.abort();
    await this.#loop?.catch(() => {});
  }

  /** Planned starts (ms since the epoch) by job name, soonest first. */
  plannedRuns(): { job: string; at: number }[] {
    return [...this.#entries.values()]
      .map((e) => ({ job: e.job.name, at: e.dueAt }))
      .sort((a, b) => a.at - b.at);
  }

  /** The name of the job running now, if any. */
  get running(): string | undefined {
    return this.#current?.job;
  }

  async #runLoop(): Promise<void> {
    await this.#apply(this.#jobs, { jitter: true });
    while (!this.#stopping) {
      if (this.#pending) {
        const jobs = this.#pending;
        this.#pending = undefined;
        await this.#apply(jobs, { jitter: true });
        continue;
      }
      const next = this.#earliest();
      const now = this.#opts.clock.now();
      if (next && next.dueAt <= now) {
        await this.#runEntry(next);
        continue;
      }
      const wait = next ? Math.min(next.dueAt - now, this.#opts.maxSleepMs) : this.#opts.maxSleepMs;
      await this.#sleep(wait);
    }
  }

  #earliest(): Entry | undefined {
    let best: Entry | undefined;
    // Map iteration follows config order, so ties go to the job listed first.
    for (const e of this.#entries.values()) if (!best || e.dueAt < best.dueAt) best = e;
    return best;
  }

  async #sleep(ms: number) {
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
    try {
      await this.#opts.clock.sleep(ms, this.#wake.signal);
    } catch (e) {
      if (!this.#wake.signal.aborted) throw e;
    }
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
  }

  /** Plans `jobs`, keeping the planned start of jobs whose schedule and jitter did not change. */
  async #apply(jobs: readonly JobDefinition[], opts: { jitter: boolean }) {
    const old = this.#entries;
    this.#entries = new Map();
    this.#jobs = jobs;
    const now = this.#opts.clock.now();
    for (const job of jobs) {
      if (!job.schedule) continue;
      const prev = old.get(job.name);
      if (prev && prev.job.schedule === job.schedule && prev.job.jitterMs === job.jitterMs) {
        this.#entries.set(job.name, { ...prev, job });
        continue;
      }
      if (!this.#ref.has(job.name)) {
        let last: number | undefined;
        try {
          last = await this.#opts.history?.lastStart(job.name);
        } catch (e) {
          this.#opts.log(
            `warning: job "${job.name}": cannot read its last run, treating it as never run: ${e}`,
          );
        }
        this.#ref.set(job.name, last);
      }
      const schedule = parseSchedule(job.schedule);
      this.#entries.set(job.name, {
        job,
        schedule,
        dueAt: this.#plan(job, schedule, now, opts.jitter),
      });
    }
  }

  #plan(job: JobDefinition, schedule: Schedule, now: number, jitter: boolean): number {
    const ref = this.#ref.get(job.name);
    const delay = jitter ? jitterDelay(job.jitterMs, this.#opts.random) : 0;
    if (ref === undefined) return now + delay; // never ran: due now
    const slot = schedule.next(ref);
    if (slot === undefined) return Infinity;
    return (slot <= now ? now : slot) + delay; // a missed slot runs once, now
  }

  async #runEntry(entry: Entry): Promise<RunRecord> {
    const { job } = entry;
    const controller = new AbortController();
    this.#current = { job: job.name, controller };
    const start = this.#opts.clock.now();
    this.#ref.set(job.name, start);
    let result: RunResult;
    try {
      result = await this.#opts.runJob(job, { signal: controller.signal });
    } catch (e) {
      result = { result: "failed", error: e instanceof Error ? e.message : String(e) };
    } finally {
      this.#current = undefined;
    }
    const end = this.#opts.clock.now();
    this.#ref.set(job.name, end);
    // Plan from the end: slots that passed during the run are skipped, not caught up.
    const current = this.#entries.get(job.name);
    if (current) current.dueAt = this.#plan(current.job, current.schedule, end, true);
    const record: RunRecord = { job: job.name, start, end, result };
    if (current && Number.isFinite(current.dueAt)) record.nextRun = current.dueAt;
    // The severity word leads, so a log reader (journald, grep) sees a failure as one.
    const severity = result.result === "failed"
      ? "error: "
      : result.result === "success"
      ? ""
      : "warning: ";
    this.#opts.log(
      `${severity}job "${job.name}": ${result.result}${result.error ? `: ${result.error}` : ""}`,
    );
    try {
      await this.#opts.onRun?.(record);
    } catch (e) {
      this.#opts.log(`error: job "${job.name}": cannot record the run: ${e}`);
    }
    return record;
  }
}
