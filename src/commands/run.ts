import { type Command, printable, UsageError, VERSION } from "../cli/mod.ts";
import { type JobDefinition, parseSchedule, recordRun, type RunRecord } from "../job/mod.ts";
import { describeResult, runJobNow, worstExitCode } from "../runner/mod.ts";
import { CONFIG_OPTION, loadConfigFlag, runRecordJson } from "./_job_flags.ts";

/** `cairn run`: run jobs of a job file now, one after another. */
export const runCommand: Command = {
  name: "run",
  summary: "run jobs of a job file now",
  usage: "cairn run [--config FILE] [JOB...] [--json]",
  description: [
    "Runs the named jobs (default: all backup jobs, scheduled or not) in the order given,",
    "with their hooks and keep policies, and records each run for 'cairn status'. A",
    "repository's scheduled maintenance runs only when named (e.g. 'cairn run main.prune').",
    "The exit code is the worst of the runs: 1 if any failed or was skipped, else 3 if any",
    "was partial.",
  ].join("\n"),
  usesRepository: false,
  options: { config: CONFIG_OPTION },
  async run(ctx) {
    const config = await loadConfigFlag(ctx);
    const jobs = selectJobs(config.jobs, ctx.positionals);
    const names = config.jobs.map((j) => j.name);
    const records: RunRecord[] = [];
    for (const job of jobs) {
      if (ctx.signal.aborted) break;
      const start = Date.now();
      const result = await runJobNow(config, job, {
        signal: ctx.signal,
        output: ctx.output,
        env: ctx.env,
        programVersion: `cairn ${VERSION}`,
      });
      const end = Date.now();
      const record: RunRecord = { job: job.name, start, end, result };
      const next = nextSlot(job, end);
      if (next !== undefined) record.nextRun = next;
      records.push(record);
      try {
        await recordRun(config, record, names);
      } catch (err) {
        ctx.output.err(
          `job "${job.name}": warning: cannot record the run: ${(err as Error).message}`,
        );
      }
      if (!ctx.flags.json) ctx.output.out(`job "${job.name}": ${describeResult(result)}`);
    }
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify(records.map(runRecordJson)));
    }
    if (ctx.signal.aborted && records.length < jobs.length) {
      ctx.output.err(`interrupted: ${jobs.length - records.length} job(s) not run`);
      return 1;
    }
    return worstExitCode(records.map((r) => r.result.result));
  },
};

/**
 * The jobs `names` picks, in that order (when empty, every job but the
 * repositories' maintenance); UsageError for unknown names.
 */
function selectJobs(all: readonly JobDefinition[], names: readonly string[]): JobDefinition[] {
  if (names.length === 0) return all.filter((j) => !j.maintenance);
  return names.map((name) => {
    const job = all.find((j) => j.name === name);
    if (!job) {
      const known = all.map((j) => j.name).join(", ") || "none";
      throw new UsageError(`unknown job "${printable(name)}" (jobs: ${known})`);
    }
    return job;
  });
}

/** The job's next cron slot after `after`, as the agent would plan it (without jitter). */
function nextSlot(job: JobDefinition, after: number): number | undefined {
  return job.schedule ? parseSchedule(job.schedule).next(after) : undefined;
}
