/**
 * The agent's fleet: the bootstrap job file's jobs plus those of this host's
 * signed remote document, run by one {@linkcode Agent}. The fleet polls the
 * document every `poll`, swaps the remote jobs when a new version arrives,
 * reloads the bootstrap file when it changes, records every run in the status
 * store and POSTs a report for each remote job to its `report_url`.
 *
 * Guarantees:
 * - A remote job named like a local one is left out (and logged); local jobs win.
 * - A remote job runs with the bootstrap file's repositories over the document's
 *   and is confined to `[remote.allow]` paths at run time too.
 * - A run's report goes out even when the status file cannot be written.
 * - A poll that fails or is rejected leaves the jobs as they are.
 * - `state_dir` and `[remote]` changes in a reloaded file wait for a restart.
 *
 * @module
 */

import { join } from "node:path";
import { onAbort } from "../fs/mod.ts";
import {
  Agent,
  type Clock,
  ConfigError,
  type JobConfig,
  type JobDefinition,
  loadJobConfig,
  parseJobConfig,
  parseSchedule,
  recordRun,
  type RunRecord,
  type RunResult,
  StatusStore,
  systemClock,
  watchConfig,
} from "../job/mod.ts";
import {
  type FlushResult,
  type GoodDocument,
  type Heartbeat,
  HeartbeatSender,
  type PollResult,
  RemoteJobSource,
  ReportQueue,
  type RunReport,
} from "../remote/mod.ts";
import { toReport } from "./to_report.ts";

/** Runs one job of the fleet with the config it came from; never throws (the runner's `runJobNow`). */
export type RunFleetJob = (
  config: JobConfig,
  job: JobDefinition,
  options: { signal: AbortSignal; remoteAllowPaths?: readonly string[] },
) => Promise<RunResult>;

/** Where the remote jobs come from: `RemoteJobSource` in use, a fake in tests. */
export interface JobDocumentSource {
  poll(options: { signal?: AbortSignal }): Promise<PollResult<JobConfig>>;
  close(): void;
}

/** Where run reports go: `ReportQueue` in use, a fake in tests. */
export interface ReportSink {
  send(url: string, report: RunReport): Promise<"sent" | "queued" | "dropped">;
  flush(options: { signal?: AbortSignal }): Promise<FlushResult>;
  close(): void;
}

/** Where heartbeats go: `HeartbeatSender` in use, a fake in tests. */
export interface HeartbeatSink {
  send(hb: Heartbeat, options: { signal?: AbortSignal }): Promise<unknown>;
  close(): void;
}

/** What {@linkcode Fleet} is built from. */
export interface FleetOptions {
  /** The bootstrap job file. */
  boot: JobConfig;
  /** For reloading the bootstrap file (its `${VAR}`s). */
  env: Record<string, string | undefined>;
  runJob: RunFleetJob;
  /** One line per event (the agent's log). */
  log: (line: string) => void;
  /** With `[remote]`: the document source and the report queue. */
  source?: JobDocumentSource;
  reports?: ReportSink;
  /** With `[remote]`: where the heartbeat goes after each poll (daemon) or run (`--once`). */
  heartbeats?: HeartbeatSink;
  /** Default: the real clock; the agent and the poll loop both use it. */
  clock?: Clock;
  /** For the agent's jitter; default `Math.random`. */
  random?: () => number;
  /** The host name reports carry; default `Deno.hostname()`. */
  host?: string;
}

/** Where a job came from: the config to run it with and where to report it. */
interface Origin {
  config: JobConfig;
  reportUrl?: string;
  /** From the remote document: confined to `[remote.allow]` at run time too. */
  remote?: boolean;
}

/** The agent's job set: the bootstrap file's jobs plus those of the remote document. */
export class Fleet {
  readonly #origins = new WeakMap<JobDefinition, Origin>();
  /** The origin of each job at the moment it started, for its report. */
  readonly #ran = new Map<string, Origin>();
  readonly #store: StatusStore;
  readonly #host: string;
  readonly #clock: Clock;
  readonly #opts: FleetOptions;
  private boot: JobConfig;
  private readonly env: Record<string, string | undefined>;
  private readonly source?: JobDocumentSource;
  private readonly reports?: ReportSink;
  private readonly heartbeats?: HeartbeatSink;
  #jobs: JobDefinition[] = [];
  #document?: GoodDocument<JobConfig>;

  constructor(options: FleetOptions) {
    this.#opts = options;
    this.boot = options.boot;
    this.env = options.env;
    this.source = options.source;
    this.reports = options.reports;
    this.heartbeats = options.heartbeats;
    this.#host = options.host ?? Deno.hostname();
    this.#clock = options.clock ?? systemClock;
    this.#store = new StatusStore(options.boot.stateDir);
  }

  /**
   * A fleet for the bootstrap file `boot`, with the remote source and report
   * queue opened when the file has `[remote]`; ConfigError when they cannot be.
   */
  static async open(
    boot: JobConfig,
    options: Pick<FleetOptions, "env" | "runJob" | "log">,
  ): Promise<Fleet> {
    const r = boot.remote;
    if (!r) return new Fleet({ ...options, boot });
    const log = options.log;
    let source: RemoteJobSource<JobConfig>;
    try {
      source = await RemoteJobSource.open<JobConfig>({
        url: r.url,
        host: Deno.hostname(),
        publicKey: r.publicKey,
        tokenFile: r.tokenFile,
        caFile: r.caFile,
        allow: r.allow,
        localRepositories: boot.repositories,
        stateDir: boot.stateDir,
        parse: (t, s) => parseJobConfig(t, s, { remote: true, repositories: boot.repositories }),
        log,
      });
    } catch (err) {
      throw new ConfigError({ file: boot.source }, `[remote]: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const reports = await ReportQueue.open({
      dir: join(boot.stateDir, "reports"),
      token: r.tokenFile ? { file: r.tokenFile, origin: new URL(source.url).origin } : undefined,
      caFile: r.caFile,
      log,
    });
    const heartbeats = await HeartbeatSender.open({
      jobsUrl: source.url,
      tokenFile: r.tokenFile,
      caFile: r.caFile,
      log,
    });
    return new Fleet({ ...options, boot, source, reports, heartbeats });
  }

  close(): void {
    this.source?.close();
    this.reports?.close();
    this.heartbeats?.close();
  }

  /** `--once`: fetch, run what is due, report; the records of the runs. */
  async once(signal: AbortSignal): Promise<RunRecord[]> {
    await this.#poll(signal);
    const agent = this.#agent();
    const records = await agent.runOnce({ signal });
    await this.#flushReports(signal);
    // A host run from a timer says what it plans too, so the endpoint can tell stale from quiet.
    await this.#heartbeat(agent, signal);
    this.#log(`ran ${records.length} due job(s)`);
    if (records.length === 0) this.#log(nothingDue(agent.plannedRuns()));
    return records;
  }

  /** The daemon: runs until `signal` aborts (SIGTERM/SIGINT). */
  async daemon(path: string, signal: AbortSignal): Promise<void> {
    const stop = new AbortController();
    // Also for a signal aborted before: a SIGTERM while the agent was still starting.
    const off = onAbort(signal, () => {
      this.#log("stopping after the running job's safe point");
      stop.abort();
    });
    await this.#poll(signal);
    const agent = this.#agent();
    watchConfig({
      path,
      load: (p) => loadJobConfig(p, { env: this.env }),
      onReload: (config) => {
        this.#reloadBoot(config);
        agent.reload(this.#merge());
      },
      onError: (e) => this.#log(`reload failed, keeping the previous jobs: ${e.message}`),
      signal: stop.signal,
    });
    const polling = this.source ? this.#pollLoop(agent, stop.signal) : Promise.resolve();
    const scheduled = this.#jobs.filter((j) => j.schedule).length;
    this.#log(`agent started: ${this.#jobs.length} job(s), ${scheduled} scheduled`);
    try {
      await agent.run({ signal });
    } finally {
      stop.abort();
      off();
      await polling;
    }
    this.#log("agent stopped");
  }

  #agent(): Agent {
    return new Agent({
      jobs: this.#merge(),
      history: this.#store,
      clock: this.#clock,
      ...(this.#opts.random ? { random: this.#opts.random } : {}),
      runJob: (job, { signal }) => {
        const origin = this.#origins.get(job) ?? { config: this.boot };
        this.#ran.set(job.name, origin);
        this.#log(`job "${job.name}": starting`);
        return this.#opts.runJob(origin.config, job, {
          signal,
          remoteAllowPaths: origin.remote ? this.boot.remote?.allow.paths ?? [] : undefined,
        });
      },
      onRun: (record) => this.#onRun(record),
      log: (line) => this.#log(line),
    });
  }

  async #onRun(record: RunRecord): Promise<void> {
    const origin = this.#ran.get(record.job);
    this.#ran.delete(record.job);
    try {
      await recordRun(this.boot, record, this.#jobs.map((j) => j.name));
    } finally {
      // The report goes out even when the status file cannot be written.
      if (origin?.reportUrl && this.reports) {
        const outcome = await this.reports.send(origin.reportUrl, toReport(this.#host, record));
        this.#log(`job "${record.job}": report ${outcome}`);
      }
    }
    const { snapshot } = record.result;
    const details = [
      ...(snapshot ? [`snapshot ${snapshot.slice(0, 8)}`] : []),
      ...(record.nextRun ? [`next run ${new Date(record.nextRun).toISOString()}`] : []),
    ];
    if (details.length) this.#log(`job "${record.job}": ${details.join(", ")}`);
  }

  /** Polls every `poll` until `signal` aborts; a new document replaces the remote jobs. */
  async #pollLoop(agent: Agent, signal: AbortSignal): Promise<void> {
    const every = this.boot.remote!.pollMs;
    try {
      // The first heartbeat once the scheduler has planned its jobs (it does so as it starts).
      await this.#clock.sleep(Math.min(every, 2000), signal);
    } catch {
      return;
    }
    await this.#heartbeat(agent, signal);
    while (!signal.aborted) {
      try {
        await this.#clock.sleep(every, signal);
      } catch {
        return;
      }
      const before = this.#document;
      await this.#poll(signal);
      if (this.#document !== before) agent.reload(this.#merge());
      await this.#heartbeat(agent, signal);
      await this.#flushReports(signal);
    }
  }

  /** One poll; rejections and outages are logged by the source and leave the jobs as they are. */
  async #poll(signal: AbortSignal): Promise<void> {
    if (!this.source) return;
    try {
      const r = await this.source.poll({ signal });
      if (r.status === "updated") {
        this.#log(`remote jobs: accepted version ${r.current.version}`);
      }
      const current = r.current;
      if (current?.version !== this.#document?.version) this.#document = current;
    } catch (err) {
      // The source promises not to throw; if it does anyway, the agent keeps its jobs.
      if (!signal.aborted) this.#log(`remote jobs: poll failed: ${(err as Error).message}`);
    }
  }

  /** Tells the endpoint what this agent plans (docs/SERVE.md), so it can tell stale from quiet. */
  async #heartbeat(agent: Agent, signal: AbortSignal): Promise<void> {
    if (!this.heartbeats) return;
    const planned = new Map(agent.plannedRuns().map((p) => [p.job, p.at]));
    const hb: Heartbeat = {
      host: this.#host,
      poll_seconds: this.boot.remote!.pollMs / 1000,
      running: agent.running ?? null,
      jobs: this.#jobs.map((job) => {
        const at = planned.get(job.name);
        const runs: number[] = [];
        if (job.schedule && at !== undefined && Number.isFinite(at)) {
          runs.push(at);
          const after = parseSchedule(job.schedule).next(at);
          if (after !== undefined) runs.push(after);
        }
        return {
          job: job.name,
          schedule: job.schedule ?? null,
          next_runs: runs.map((t) => new Date(t).toISOString()),
        };
      }),
    };
    try {
      await this.heartbeats.send(hb, { signal });
    } catch {
      // Aborted: the agent is stopping.
    }
  }

  async #flushReports(signal: AbortSignal): Promise<void> {
    if (!this.reports) return;
    try {
      const f = await this.reports.flush({ signal });
      if (f.remaining > 0) this.#log(`reports: ${f.remaining} waiting for delivery`);
    } catch (err) {
      if (!signal.aborted) this.#log(`reports: ${(err as Error).message}`);
    }
  }

  /** Takes a reloaded bootstrap file; `state_dir` and `[remote]` changes need a restart. */
  #reloadBoot(config: JobConfig): void {
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const keep = (what: string) =>
      this.#log(`reload: ${what} changed; it takes effect when the agent restarts`);
    if (config.stateDir !== this.boot.stateDir) keep("state_dir");
    const remote = (c: JobConfig) =>
      c.remote ? { ...c.remote, publicKey: [...c.remote.publicKey] } : undefined;
    if (!same(remote(config), remote(this.boot))) keep("[remote]");
    this.boot = { ...config, stateDir: this.boot.stateDir, remote: this.boot.remote };
    this.#log(`reloaded ${config.source}: ${config.jobs.length} local job(s)`);
  }

  /** Local jobs, then the remote document's; a remote job named like a local one is left out. */
  #merge(): JobDefinition[] {
    const jobs: JobDefinition[] = [];
    for (const job of this.boot.jobs) {
      this.#origins.set(job, { config: this.boot });
      jobs.push(job);
    }
    const doc = this.#document?.config;
    if (doc) {
      const config: JobConfig = {
        ...doc,
        stateDir: this.boot.stateDir,
        repositories: { ...doc.repositories, ...this.boot.repositories },
      };
      for (const job of doc.jobs) {
        if (jobs.some((j) => j.name === job.name)) {
          this.#log(`remote job "${job.name}" ignored: a local job has that name`);
          continue;
        }
        this.#origins.set(job, { config, reportUrl: doc.reportUrl, remote: true });
        jobs.push(job);
      }
    }
    this.#jobs = jobs;
    return jobs;
  }

  #log(line: string): void {
    this.#opts.log(line);
  }
}

/** What `--once` says when no job was due: the next planned start, or that none has a schedule. */
export function nothingDue(planned: readonly { job: string; at: number }[]): string {
  const next = planned.find((p) => Number.isFinite(p.at));
  if (!next) return "nothing was due: no job has a schedule";
  return `nothing was due; next: job "${next.job}" at ${new Date(next.at).toISOString()}`;
}
