import { join } from "node:path";
import {
  type Command,
  expectPositionals,
  formatBytes,
  printable,
  snakeCaseKeys,
} from "../cli/mod.ts";
import {
  healthExitCode,
  type JobDefinition,
  jobHealth,
  parseSchedule,
  type StatusRecord,
  StatusStore,
} from "../job/mod.ts";
import { CONFIG_OPTION, loadConfigFlag } from "./_job_flags.ts";
import { localTime } from "./snapshots.ts";

/** `cairn status`: the last run of every job and when it runs next. */
export const statusCommand: Command = {
  name: "status",
  summary: "show the last run and next run of each job",
  usage: "cairn status [--config FILE] [--json]",
  description: [
    "Lists the jobs of the file, then any other job with a status record in the state",
    "directory (e.g. jobs from a remote job document). 'next' is the time the agent last",
    "planned, or for a job the agent has not planned: its next cron slot.",
    "A scheduled job is overdue when two of its slots have passed since it last started.",
    "Exit code: 0 all jobs ok (or never run), 1 some job's last run failed or a job is",
    "overdue, 3 some job's last run was partial (files it could not read).",
  ].join("\n"),
  usesRepository: false,
  options: { config: CONFIG_OPTION },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const config = await loadConfigFlag(ctx);
    const store = new StatusStore(config.stateDir);
    const names = config.jobs.map((j) => j.name);
    for (const name of await recordedJobs(config.stateDir)) {
      if (!names.includes(name)) names.push(name);
    }
    const now = Date.now();
    const rows = await Promise.all(names.map(async (name) => {
      const record = (await store.read(name)) ?? { job: name };
      const job = config.jobs.find((j) => j.name === name);
      // A planned start in the past means no agent is running: say when one would start it.
      const planned = record.nextRun && Date.parse(record.nextRun) > now
        ? record.nextRun
        : undefined;
      const nextRun = planned ?? estimateNext(job, record, now) ?? record.nextRun;
      const schedule = job?.schedule ?? null;
      const health = jobHealth(record, schedule, now);
      return { ...record, ...(nextRun ? { nextRun } : {}), schedule, health };
    }));
    const code = healthExitCode(rows.map((r) => r.health));
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify(snakeCaseKeys(rows)));
      return code;
    }
    if (rows.length === 0) ctx.output.out("no jobs");
    for (const r of rows) ctx.output.out(describe(r, config.jobs.some((j) => j.name === r.job)));
    return code;
  },
};

/** Job names that have a status file in `<stateDir>/jobs/`, sorted. */
async function recordedJobs(stateDir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(join(stateDir, "jobs"))) {
      if (e.isFile && e.name.endsWith(".json")) names.push(e.name.slice(0, -".json".length));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}

/** When the agent would start the job (no jitter): at once if never run or a slot was missed. */
function estimateNext(
  job: JobDefinition | undefined,
  record: StatusRecord,
  now: number,
): string | undefined {
  if (!job?.schedule) return undefined;
  const last = record.lastStart ? Date.parse(record.lastStart) : NaN;
  if (Number.isNaN(last)) return new Date(now).toISOString();
  const slot = parseSchedule(job.schedule).next(last);
  if (slot === undefined) return undefined;
  return new Date(Math.max(slot, now)).toISOString();
}

function describe(
  r: StatusRecord & { schedule: string | null; health: string },
  inFile: boolean,
): string {
  const lines = [`${printable(r.job)}: ${r.health}`];
  const when = (iso?: string) => iso ? localTime(iso) : "-";
  if (!r.lastStart) lines.push("  never ran");
  else {
    lines.push(`  last run   ${when(r.lastStart)} – ${when(r.lastEnd)}: ${r.result ?? "?"}`);
    if (r.snapshot) lines.push(`  snapshot   ${r.snapshot.slice(0, 8)}`);
    if (r.files !== undefined || r.bytesAdded !== undefined) {
      lines.push(`  files      ${r.files ?? "-"}, ${formatBytes(r.bytesAdded ?? 0)} added`);
    }
    if (r.error) lines.push(`  error      ${printable(r.error)}`);
    if (r.lastSuccess && r.result !== "success") {
      lines.push(`  last ok    ${when(r.lastSuccess)}`);
    }
  }
  const next = r.nextRun
    ? `${when(r.nextRun)}${r.schedule ? ` (${r.schedule})` : ""}`
    : !inFile
    ? "- (not in this file)"
    : r.schedule === null
    ? "only by 'cairn run' (no schedule)"
    : `never (${r.schedule})`;
  lines.push(`  next run   ${next}`);
  return lines.join("\n");
}
