/**
 * What `cairn serve` knows of its fleet, and the view its pages and metrics
 * are drawn from: each host's jobs with their last reports, and which hosts
 * are stale.
 *
 * Stale is computed from facts the agents send, never guessed:
 * - a host has not polled for three of its poll intervals (the interval is
 *   in its heartbeat; an agent that sends none has an unknown interval and is
 *   never stale by this rule);
 * - a job has missed two scheduled runs: its last heartbeat planned runs at
 *   `a` and then `b`, `b` (plus a grace) has passed, no run that ended at or
 *   after `a` was reported, and the job is not running now.
 * A host is stale when it or any of its jobs is; stale hosts sort first.
 *
 * @module
 */

import type { Heartbeat } from "./heartbeat.ts";
import type { ReceivedReport } from "./serve.ts";

/** A stored heartbeat with the time the server received it. */
export type ReceivedHeartbeat = Heartbeat & { received: string };

/** Reports of one job: the last, the last success, and a bounded history. */
export interface JobRecord {
  last?: ReceivedReport;
  lastSuccess?: ReceivedReport;
  /** Sorted by `end`, at most {@link MAX_HISTORY}. */
  history: ReceivedReport[];
}

/** One host: its jobs' reports, its last poll and last heartbeat. */
export interface HostRecord {
  jobs: Map<string, JobRecord>;
  /** When it last fetched its document or sent a heartbeat (ms since the epoch). */
  lastPoll?: number;
  heartbeat?: ReceivedHeartbeat;
}

/** Reports kept per job for the history chart and the host page. */
export const MAX_HISTORY = 500;

/** The whole fleet as the server knows it. */
export class FleetState {
  readonly hosts = new Map<string, HostRecord>();

  #host(name: string): HostRecord {
    let h = this.hosts.get(name);
    if (!h) this.hosts.set(name, h = { jobs: new Map() });
    return h;
  }

  /** Records a report (in any order; the history stays sorted by end). */
  addReport(r: ReceivedReport): void {
    const host = this.#host(r.host);
    let job = host.jobs.get(r.job);
    if (!job) host.jobs.set(r.job, job = { history: [] });
    const end = Date.parse(r.end);
    if (!job.last || end >= Date.parse(job.last.end)) job.last = r;
    if (r.result === "success" && (!job.lastSuccess || end >= Date.parse(job.lastSuccess.end))) {
      job.lastSuccess = r;
    }
    const h = job.history;
    let i = h.length;
    while (i > 0 && Date.parse(h[i - 1].end) > end) i--;
    h.splice(i, 0, r);
    if (h.length > MAX_HISTORY) h.splice(0, h.length - MAX_HISTORY);
  }

  /** Records a poll (a document fetch) at `at`. */
  addPoll(host: string, at: number): void {
    const h = this.#host(host);
    h.lastPoll = Math.max(h.lastPoll ?? 0, at);
  }

  /** Records a heartbeat, which is also a poll. */
  addHeartbeat(hb: ReceivedHeartbeat): void {
    const at = Date.parse(hb.received);
    const h = this.#host(hb.host);
    if (h.heartbeat && Date.parse(h.heartbeat.received) > at) return;
    h.heartbeat = hb;
    this.addPoll(hb.host, at);
  }
}

/** One row of the dashboard: a job of a host. */
export interface JobView {
  job: string;
  last?: ReceivedReport;
  lastSuccess?: ReceivedReport;
  history: readonly ReceivedReport[];
  /** From the last heartbeat; undefined when the agent did not say. */
  schedule?: string | null;
  /** The next planned start from the last heartbeat (ms), if any. */
  nextRun?: number;
  running: boolean;
  /** Why the job is stale, or undefined. */
  stale?: string;
}

/** A host with its jobs, stale ones first. */
export interface HostView {
  host: string;
  lastPoll?: number;
  pollSeconds?: number;
  /** Why the host is stale (its own reason and its jobs'); empty when it is not. */
  stale: string[];
  jobs: JobView[];
}

/** Time past the second planned run before it counts as missed. */
export const MISSED_RUN_GRACE_MS = 5 * 60_000;

/** The fleet as the pages show it at `now`: stale hosts first, then by name. */
export function viewFleet(state: FleetState, now: number): HostView[] {
  const views = [...state.hosts].map(([host, h]) => viewHost(host, h, now));
  return views.sort((a, b) =>
    Number(b.stale.length > 0) - Number(a.stale.length > 0) ||
    (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)
  );
}

function viewHost(host: string, h: HostRecord, now: number): HostView {
  const hb = h.heartbeat;
  const planned = new Map((hb?.jobs ?? []).map((j) => [j.job, j]));
  const names = new Set([...h.jobs.keys(), ...planned.keys()]);
  const stale: string[] = [];
  const poll = hb?.poll_seconds;
  if (h.lastPoll !== undefined && poll !== undefined && now - h.lastPoll > 3 * poll * 1000) {
    stale.push(
      `no poll for ${formatDuration(now - h.lastPoll)} (polls every ${
        formatDuration(poll * 1000)
      })`,
    );
  }
  const jobs: JobView[] = [...names].map((name) => {
    const rec = h.jobs.get(name);
    const plan = planned.get(name);
    const runs = (plan?.next_runs ?? []).map((t) => Date.parse(t));
    const view: JobView = {
      job: name,
      last: rec?.last,
      lastSuccess: rec?.lastSuccess,
      history: rec?.history ?? [],
      schedule: plan ? plan.schedule : undefined,
      nextRun: runs[0],
      running: hb?.running === name,
    };
    if (runs.length >= 2 && !view.running && now > runs[1] + MISSED_RUN_GRACE_MS) {
      const ended = rec?.last ? Date.parse(rec.last.end) : -Infinity;
      if (ended < runs[0]) {
        view.stale = `missed two scheduled runs (due ${new Date(runs[0]).toISOString()} and ${
          new Date(runs[1]).toISOString()
        })`;
        stale.push(`job ${JSON.stringify(name)} ${view.stale}`);
      }
    }
    return view;
  });
  jobs.sort((a, b) =>
    Number(b.stale !== undefined) - Number(a.stale !== undefined) ||
    (a.job < b.job ? -1 : a.job > b.job ? 1 : 0)
  );
  return { host, lastPoll: h.lastPoll, pollSeconds: poll, stale, jobs };
}

/** `3 d 4 h`, `2 h`, `7 min 5 s`, `12 s`: at most the two largest units. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const units: [number, string][] = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];
  const first = units.findIndex(([size]) => s >= size);
  if (first < 0) return "0 s";
  const [size, unit] = units[first];
  const out = [`${Math.floor(s / size)} ${unit}`];
  const next = units[first + 1];
  if (next) {
    const n = Math.floor((s % size) / next[0]);
    if (n > 0) out.push(`${n} ${next[1]}`);
  }
  return out.join(" ");
}
