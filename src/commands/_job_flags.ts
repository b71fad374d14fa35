/**
 * The `--config FILE` flag the job commands (`run`, `agent`, `status`, `ui`) share.
 *
 * @module
 */
import { openBackend } from "../backend/mod.ts";
import {
  type CommandContext,
  type OptionSpec,
  printable,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import { type JobConfig, loadJobConfig, type RepositoryConfig } from "../job/mod.ts";
import { Repository } from "../repo/mod.ts";
import { readJobPassword } from "../runner/mod.ts";

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

/**
 * Opens repository `name` of a job file with the password the file says how
 * to find (`cairn ui --config FILE NAME`); UsageError when there is no such
 * repository.
 */
export function openConfigRepository(
  config: JobConfig,
  name: string,
  env: Record<string, string | undefined>,
  say: (line: string) => void,
): Promise<Repository> {
  const repo: RepositoryConfig | undefined = config.repositories[name];
  if (!repo) {
    const known = Object.keys(config.repositories).map((n) => JSON.stringify(n)).join(", ");
    throw new UsageError(
      `no repository ${JSON.stringify(name)} in the job file (it has ${known || "none"})`,
    );
  }
  const location = repo.path ?? repo.url;
  if (location === undefined) throw new UsageError(`repository "${repo.name}" has no location`);
  return Repository.open(openBackend(location, { env, s3: repo.s3 }), readJobPassword(repo, env), {
    onWarning: (m) => say(`warning: ${printable(m)}`),
  });
}
