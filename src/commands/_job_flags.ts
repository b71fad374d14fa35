/**
 * The `--config FILE` flag the job commands (`run`, `agent`, `status`) share.
 *
 * @module
 */
import { type CommandContext, type OptionSpec, stringFlag, UsageError } from "../cli/mod.ts";
import { type JobConfig, loadJobConfig } from "../job/mod.ts";

/** The `--config FILE` option of the job commands. */
export const CONFIG_OPTION: OptionSpec = {
  type: "string",
  short: "c",
  arg: "FILE",
  description: "the job file (cairn.toml)",
};

/** Loads the job file `--config` names; ConfigError (exit 2) when it is invalid. */
export function loadConfigFlag(ctx: CommandContext): Promise<JobConfig> {
  const path = stringFlag(ctx.flags, "config");
  if (path === undefined) throw new UsageError("--config FILE is required");
  return loadJobConfig(path, { env: ctx.env });
}
