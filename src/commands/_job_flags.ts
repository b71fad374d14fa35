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
  snakeCaseKeys,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import {
  type JobConfig,
  loadJobConfig,
  type RepositoryConfig,
  type RunRecord,
} from "../job/mod.ts";
import { Repository } from "../repo/mod.ts";
import { readJobPassword } from "../runner/mod.ts";

/** The `--config FILE` option of the job commands. */
export const CONFIG_OPTION: OptionSpec = {
  type: "string",
  short: "c",
  arg: "FILE",
  description: "the job file (default: $CAIRN_CONFIG, ~/.config/cairn/cairn.toml, " +
    "/etc/cairn/cairn.toml, the first that exists)",
};

/**
 * The job files tried, in order, when `--config` is not given: `$CAIRN_CONFIG`,
 * the user's (`$XDG_CONFIG_HOME/cairn/cairn.toml`, else `~/.config/cairn/cairn.toml`),
 * then the system's `/etc/cairn/cairn.toml`.
 */
export function defaultConfigPaths(env: Record<string, string | undefined>): string[] {
  const paths: string[] = [];
  if (env.CAIRN_CONFIG) paths.push(env.CAIRN_CONFIG);
  const xdg = env.XDG_CONFIG_HOME || (env.HOME ? `${env.HOME}/.config` : undefined);
  if (xdg) paths.push(`${xdg}/cairn/cairn.toml`);
  paths.push("/etc/cairn/cairn.toml");
  return paths;
}

/** The job file to use: `--config`, else the first of {@link defaultConfigPaths} that exists. */
export function configPath(ctx: CommandContext): string {
  const given = stringFlag(ctx.flags, "config");
  if (given !== undefined) return given;
  const tried = defaultConfigPaths(ctx.env);
  const found = tried.find((p) => {
    try {
      return Deno.statSync(p).isFile;
    } catch {
      return false;
    }
  });
  if (found === undefined) {
    throw new UsageError(
      `no job file: give --config FILE or create one of ${tried.map(printable).join(", ")}`,
    );
  }
  return found;
}

/** Loads the job file {@link configPath} finds; ConfigError (exit 2) when it is invalid. */
export function loadConfigFlag(ctx: CommandContext): Promise<JobConfig> {
  return loadJobConfig(configPath(ctx), { env: ctx.env });
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

/** A run as `cairn run --json` and `cairn agent --once --json` print it. */
export function runRecordJson(r: RunRecord): unknown {
  return snakeCaseKeys({
    job: r.job,
    start: new Date(r.start).toISOString(),
    end: new Date(r.end).toISOString(),
    ...r.result,
    ...(r.nextRun !== undefined ? { nextRun: new Date(r.nextRun).toISOString() } : {}),
  });
}
