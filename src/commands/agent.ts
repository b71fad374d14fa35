import { type Command, expectPositionals, type Output, VERSION } from "../cli/mod.ts";
import { Fleet } from "../fleet/mod.ts";
import { runJobNow, worstExitCode } from "../runner/mod.ts";
import { CONFIG_OPTION, configPath, loadConfigFlag, runRecordJson } from "./_job_flags.ts";

/** `cairn agent`: the scheduler daemon for local and remote jobs. */
export const agentCommand: Command = {
  name: "agent",
  summary: "run jobs on their schedules (local jobs and signed remote job documents)",
  usage: "cairn agent [--config FILE] [--once] [--json]",
  description: [
    "Runs scheduled jobs one at a time; jobs without 'schedule' only run by 'cairn run'.",
    "With [remote], also fetches this host's signed job document every 'poll' and POSTs a",
    "report to its report_url after each run. SIGHUP or a change of FILE reloads it (an",
    "invalid file is logged and the old jobs stay); SIGTERM/SIGINT stop after the running",
    "job reaches a safe point. --once runs what is due now, sends the reports and exits",
    "with the worst exit code of the runs (--json: the runs, as 'cairn run --json' prints",
    "them). Logs go to stderr, one line per event.",
  ].join("\n"),
  usesRepository: false,
  options: {
    config: CONFIG_OPTION,
    once: { type: "boolean", description: "run the jobs due now, then exit" },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const path = configPath(ctx);
    const boot = await loadConfigFlag(ctx);
    const output = timestamped(ctx.output);
    const fleet = await Fleet.open(boot, {
      env: ctx.env,
      log: (line) => output.err(line),
      runJob: (config, job, { signal, remoteAllowPaths }) =>
        runJobNow(config, job, {
          signal,
          output,
          env: ctx.env,
          programVersion: `cairn ${VERSION}`,
          remoteAllowPaths,
        }),
    });
    try {
      if (!ctx.flags.once) {
        await fleet.daemon(path, ctx.signal);
        return 0;
      }
      const records = await fleet.once(ctx.signal);
      if (ctx.flags.json) ctx.output.out(JSON.stringify(records.map(runRecordJson)));
      if (ctx.signal.aborted) return 1;
      return worstExitCode(records.map((r) => r.result.result));
    } finally {
      fleet.close();
    }
  },
};

/** Output whose diagnostics carry a timestamp: the agent's log. */
function timestamped(output: Output): Output {
  return { ...output, err: (line) => output.err(`${new Date().toISOString()} ${line}`) };
}
