import { join } from "node:path";
import {
  type Command,
  expectPositionals,
  type Output,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import {
  Agent,
  type JobConfig,
  type JobDefinition,
  loadJobConfig,
  parseJobConfig,
  parseSchedule,
  type RunRecord,
  StatusStore,
  systemClock,
  watchConfig,
} from "../job/mod.ts";
import {
  type GoodDocument,
  type Heartbeat,
  HeartbeatSender,
  RemoteJobSource,
  ReportQueue,
  type RunReport,
} from "../remote/mod.ts";
import {
  CONFIG_OPTION,
  loadConfigFlag,
  recordRun,
  runJobNow,
  worstExitCode,
} from "./_job_runner.ts";

/** `cairn agent`: the scheduler daemon for local and remote jobs. */
export const agentCommand: Command = {
  name: "agent",
  summary: "run jobs on their schedules (local jobs and signed remote job documents)",
  usage: "cairn agent --config FILE [--once]",
  description: [
    "Runs scheduled jobs one at a time; jobs without 'schedule' only run by 'cairn run'.",
    "With [remote], also fetches this host's signed job document every 'poll' and POSTs a",
    "report to its report_url after each run. SIGHUP or a change of FILE reloads it (an",
    "invalid file is logged and the old jobs stay); SIGTERM/SIGINT stop after the running",
    "job reaches a safe point. --once runs what is due now, sends the reports and exits",
    "with the worst exit code of the runs. Logs go to stderr, one line per event.",
  ].join("\n"),
  usesRepository: false,
  options: {
    config: CONFIG_OPTION,
    once: { type: "boolean", description: "run the jobs due now, then exit" },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const path = stringFlag(ctx.flags, "config")!;
    const boot = await loadConfigFlag(ctx);
    const log = timestamped(ctx.output);
    const fleet = await Fleet.open(boot, ctx.env, log);
    try {
      return ctx.flags.once ? await fleet.once(ctx.signal) : await fleet.daemon(path, ctx.signal);
    } finally {
      fleet.close();
    }
  },
};

/** Output whose diagnostics carry a timestamp: the agent's log. */
function timestamped(output: Output): Output {
  return { ...output, err: (line) => output.err(`${new Date().toISOString()} ${line}`) };
}

/** Where a job came from: the config to run it with and where to report it. */
interface Origin {
  config: JobConfig;
  reportUrl?: string;
  /** From the remote document: confined to `[remote.allow]` at run time too. */
  remote?: boolean;
}

/** The agent's job set: the bootstrap file's jobs plus those of the remote document. */
class Fleet {
  readonly #origins = new WeakMap<JobDefinition, Origin>();
  /** The origin of each job at the moment it started, for its report. */
  readonly #ran = new Map<string, Origin>();
  readonly #store: StatusStore;
  readonly #host = Deno.hostname();
  #jobs: JobDefinition[] = [];
  #document?: GoodDocument<JobConfig>;

  private constructor(
    private boot: JobConfig,
    private readonly env: Record<string, string | undefined>,
    private readonly output: Output,
    private readonly source?: RemoteJobSource<JobConfig>,
    private readonly reports?: ReportQueue,
    private readonly heartbeats?: HeartbeatSender,
  ) {
    this.#store = new StatusStore(boot.stateDir);
  }

  /** Opens the remote source and report queue when the file has `[remote]`. */
  static async open(
    boot: JobConfig,
    env: Record<string, string | undefined>,
    output: Output,
  ): Promise<Fleet> {
    const r = boot.remote;
    if (!r) return new Fleet(boot, env, output);
    const log = (line: string) => output.err(line);
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
      throw new UsageError(`${boot.source}: [remote]: ${(err as Error).message}`, { cause: err });
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
    return new Fleet(boot, env, output, source, reports, heartbeats);
  }

  close(): void {
    this.source?.close();
    this.reports?.close();
    this.heartbeats?.close();
  }

  /** `--once`: fetch, run what is due, report, exit with the worst code. */
  async once(signal: AbortSignal): Promise<number> {
    await this.#poll(signal);
    const agent = this.#agent();
    const records = await agent.runOnce({ signal });
    await this.#flushReports(signal);
    this.#log(`ran ${records.length} due job(s)`);
    if (records.length === 0) this.#log(nothingDue(agent.plannedRuns()));
    if (signal.aborted) return 1;
    return worstExitCode(records.map((r) => r.result.result));
  }

  /** The daemon: runs until `signal` aborts (SIGTERM/SIGINT). */
  async daemon(path: string, signal: AbortSignal): Promise<number> {
    const stop = new AbortController();
    const onAbort = () => {
      this.#log("stopping after the running job's safe point");
      stop.abort();
    };
    signal.addEventListener("abort", onAbort, { once: true });
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
      signal.removeEventListener("abort", onAbort);
      await polling;
    }
    this.#log("agent stopped");
    return 0;
  }

  #agent(): Agent {
    return new Agent({
      jobs: this.#merge(),
      history: this.#store,
      runJob: (job, { signal }) => {
        const origin = this.#origins.get(job) ?? { config: this.boot };
        this.#ran.set(job.name, origin);
        this.#log(`job "${job.name}": starting`);
        return runJobNow(origin.config, job, {
          signal,
          output: this.output,
          env: this.env,
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
      await systemClock.sleep(Math.min(every, 2000), signal);
    } catch {
      return;
    }
    await this.#heartbeat(agent, signal);
    while (!signal.aborted) {
      try {
        await systemClock.sleep(every, signal);
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
    this.output.err(line);
  }
}

/** What `--once` says when no job was due: the next planned start, or that none has a schedule. */
export function nothingDue(planned: readonly { job: string; at: number }[]): string {
  const next = planned.find((p) => Number.isFinite(p.at));
  if (!next) return "nothing was due: no job has a schedule";
  return `nothing was due; next: job "${next.job}" at ${new Date(next.at).toISOString()}`;
}

/** The report POSTed for a run (see docs/REMOTE.md). */
export function toReport(host: string, record: RunRecord): RunReport {
  const r = record.result;
  return {
    host,
    job: record.job,
    start: new Date(record.start).toISOString(),
    end: new Date(record.end).toISOString(),
    result: r.result === "success" || r.result === "partial" ? r.result : "failure",
    snapshot: r.snapshot ?? null,
    files: r.files ?? 0,
    bytes: r.bytesAdded ?? 0,
    error: r.error === undefined ? null : r.error.slice(0, 4096),
  };
}
