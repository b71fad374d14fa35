/**
 * Parsing and loading job files (`cairn.toml`) and remote job documents.
 *
 * @module
 */

import { parse, TomlError } from "smol-toml";
import { ConfigError } from "./config_error.ts";
import { type ExpandEnv, expandPath, expandVars } from "./_expand.ts";
import { KeyLocator } from "./_locate.ts";
import { checkName, parseJob } from "./_parse_job.ts";
import { MAINTENANCE_KEYS, parseMaintenance } from "./_parse_maintenance.ts";
import { parseExpires, parseRemote, parseReportUrl } from "./_parse_remote.ts";
import { type Doc, Reader } from "./_reader.ts";
import type { JobConfig, JobDefinition, RepositoryConfig, S3RepositorySettings } from "./types.ts";

/** Options for {@linkcode parseJobConfig}. */
export interface ParseJobConfigOptions {
  /**
   * Parse a remote job document: `version`, `expires` (required) and
   * `report_url` are allowed; `[remote]`, `state_dir`, `metrics_file` and
   * `before`/`after` hooks are not, because a document fetched over the
   * network must not choose where the agent writes files or what it executes.
   */
  remote?: boolean;
  /**
   * Variables for `$VAR` expansion. Default: the process environment for
   * local files, and NO variables for remote documents (a remote document must
   * not read the agent's environment); pass them explicitly to allow it.
   */
  env?: Record<string, string | undefined>;
  /** Directory for `~`. Default: `env.HOME`. */
  home?: string;
  /** User id for choosing the default state directory. Default: `Deno.uid()`. */
  uid?: number | null;
  /**
   * Repositories defined elsewhere that jobs may reference, e.g. the bootstrap
   * file's repositories when parsing a remote document.
   */
  repositories?: Record<string, RepositoryConfig>;
}

/**
 * The largest job file or remote job document accepted, in bytes: 1 MiB, the
 * fetcher's download bound too. A real job file is a few KiB (a thousand jobs
 * fit in 200 KiB); the bound keeps a hostile or broken file from costing the
 * agent more than a moment before it is refused.
 */
export const MAX_JOB_FILE_BYTES = 1 << 20;

const TOP_KEYS = ["state_dir", "metrics_file", "repository", "job", "remote"];
const REMOTE_DOC_KEYS = ["repository", "job", "version", "expires", "report_url"];
const NOT_IN_REMOTE = "is not allowed in remote job documents (it is a local setting)";

/**
 * The state directory used when `state_dir` is not set: `/var/lib/cairn` for
 * root (the systemd service), otherwise `$XDG_STATE_HOME/cairn`, falling back
 * to `~/.local/state/cairn`.
 */
export function defaultStateDir(
  env: Record<string, string | undefined>,
  uid: number | null,
  home: string | undefined = env.HOME,
): string | undefined {
  if (uid === 0) return "/var/lib/cairn";
  const xdg = env.XDG_STATE_HOME;
  if (xdg && xdg.startsWith("/")) return `${xdg.replace(/\/+$/, "")}/cairn`;
  return home ? `${home.replace(/\/+$/, "")}/.local/state/cairn` : undefined;
}

function processUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null; // no --allow-sys: assume an unprivileged user.
  }
}

function syntaxError(file: string, e: TomlError): ConfigError {
  const first = e.message.split("\n")[0].replace(/^Invalid TOML document:\s*/, "");
  return new ConfigError({ file, line: e.line }, `invalid TOML: ${first} (column ${e.column})`, {
    cause: e,
  });
}

/** Repository keys that only an S3 `url` may have. */
const S3_KEYS = [
  "region",
  "path_style",
  "ca_file",
  "storage_class",
  "access_key_id_file",
  "secret_access_key_file",
  "object_lock",
];

function parseS3Keys(r: Reader, expand: ExpandEnv): S3RepositorySettings {
  const s3: S3RepositorySettings = {};
  const region = r.string("region");
  if (region !== undefined) s3.region = region;
  if (r.has("path_style")) s3.pathStyle = r.boolean("path_style", false);
  const storageClass = r.string("storage_class");
  if (storageClass !== undefined) {
    if (!/^[A-Z_]+$/.test(storageClass)) {
      r.fail(["storage_class"], `"${storageClass}" is not an S3 storage class (e.g. STANDARD_IA)`);
    }
    s3.storageClass = storageClass;
  }
  const files = [
    ["ca_file", "caFile"],
    ["access_key_id_file", "accessKeyIdFile"],
    ["secret_access_key_file", "secretAccessKeyFile"],
  ] as const;
  for (const [key, field] of files) {
    const v = r.string(key);
    if (v !== undefined) s3[field] = r.convert(key, v, (s) => expandPath(s, expand));
  }
  if ((s3.accessKeyIdFile === undefined) !== (s3.secretAccessKeyFile === undefined)) {
    r.fail(
      [s3.accessKeyIdFile === undefined ? "access_key_id_file" : "secret_access_key_file"],
      `set both "access_key_id_file" and "secret_access_key_file", or neither`,
    );
  }
  return s3;
}

function parseRepository(r: Reader, name: string, expand: ExpandEnv): RepositoryConfig {
  r.onlyKeys([
    "path",
    "url",
    "password_file",
    "password_env",
    "password_command",
    "init",
    ...S3_KEYS,
    ...MAINTENANCE_KEYS,
  ]);
  const repo: RepositoryConfig = { name };
  if (r.boolean("init", false)) repo.init = true;
  const path = r.string("path");
  const url = r.string("url");
  if ((path === undefined) === (url === undefined)) {
    r.fail([], `set exactly one of "path" (local) and "url" (remote)`);
  }
  if (path !== undefined) repo.path = r.convert("path", path, (s) => expandPath(s, expand));
  if (url !== undefined) {
    const u = r.convert("url", url, (s) => expandVars(s, expand));
    if (!/^s3:.+/.test(u)) {
      r.fail(["url"], `unsupported repository URL "${url}" (supported: s3:…)`);
    }
    repo.url = u;
    const s3 = parseS3Keys(r, expand);
    if (Object.keys(s3).length > 0) repo.s3 = s3;
    const lock = r.subTable("object_lock");
    if (lock) {
      const c = r.child("object_lock", lock);
      c.onlyKeys(["mode", "days"]);
      const mode = c.string("mode", true);
      if (mode !== "governance" && mode !== "compliance") {
        c.fail(["mode"], `must be "governance" or "compliance", not "${mode}"`);
      }
      const days = c.integer("days", { required: true, min: 1, max: 36500 })!;
      repo.objectLock = { mode: mode as "governance" | "compliance", days };
    }
  } else {
    const stray = S3_KEYS.find((k) => r.has(k));
    if (stray) r.fail([stray], `only allowed with url = "s3:…"`);
  }
  const file = r.string("password_file");
  const env = r.string("password_env");
  const command = r.string("password_command");
  if ([file, env, command].filter((v) => v !== undefined).length > 1) {
    r.fail(
      [command !== undefined ? "password_command" : "password_env"],
      `set at most one of "password_file", "password_env" and "password_command"`,
    );
  }
  if (command !== undefined) {
    if (command.trim() === "") r.fail(["password_command"], "is empty");
    repo.passwordCommand = command;
  }
  if (file !== undefined) {
    repo.passwordFile = r.convert("password_file", file, (s) => expandPath(s, expand));
  }
  if (env !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(env)) {
      r.fail(["password_env"], `"${env}" is not an environment variable name`);
    }
    repo.passwordEnv = env;
  }
  return repo;
}

/**
 * Parses and validates a job file. Every problem (TOML syntax, unknown keys,
 * wrong types, missing keys, unknown repositories, bad cron expressions or
 * durations, relative paths, unset variables) throws a one-line
 * {@linkcode ConfigError} naming the file, line and key.
 *
 * @param text the TOML text
 * @param source the file name to put in messages
 */
export function parseJobConfig(
  text: string,
  source: string,
  options: ParseJobConfigOptions = {},
): JobConfig {
  const remoteDoc = options.remote ?? false;
  const env = options.env ?? (remoteDoc ? {} : Deno.env.toObject());
  const expand: ExpandEnv = { env, home: options.home ?? env.HOME };
  // UTF-8 is at most 3 bytes per UTF-16 unit: count exactly only near the bound.
  if (text.length * 3 > MAX_JOB_FILE_BYTES) {
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > MAX_JOB_FILE_BYTES) throw tooLarge(source);
  }
  let data: Record<string, unknown>;
  try {
    data = parse(text);
  } catch (e) {
    if (e instanceof TomlError) throw syntaxError(source, e);
    throw e;
  }
  const doc: Doc = { file: source, locator: new KeyLocator(text) };
  const top: Reader = new Reader(doc, data, []);
  top.onlyKeys(
    remoteDoc ? REMOTE_DOC_KEYS : TOP_KEYS,
    remoteDoc ? { remote: NOT_IN_REMOTE, state_dir: NOT_IN_REMOTE, metrics_file: NOT_IN_REMOTE } : {
      version: "only allowed in remote job documents",
      expires: "only allowed in remote job documents",
      report_url: "only allowed in remote job documents",
    },
  );

  const config: JobConfig = { source, stateDir: "", repositories: {}, jobs: [] };

  const stateDir = top.string("state_dir");
  if (stateDir !== undefined) {
    config.stateDir = top.convert("state_dir", stateDir, (s) => expandPath(s, expand));
  } else if (!options.remote) {
    // A remote document cannot set state_dir: the agent uses its bootstrap file's.
    const dir = defaultStateDir(
      env,
      options.uid !== undefined ? options.uid : processUid(),
      expand.home,
    );
    if (!dir) {
      top.fail(["state_dir"], "no default state directory (HOME is not set); set state_dir");
    }
    config.stateDir = dir;
  }
  const metricsFile = top.string("metrics_file");
  if (metricsFile !== undefined) {
    config.metricsFile = top.convert("metrics_file", metricsFile, (s) => expandPath(s, expand));
  }

  const repos = top.subTable("repository") ?? {};
  /** Repositories' scheduled prune and check, jobs after the file's own. */
  const maintenance: JobDefinition[] = [];
  const repoTables: Reader = top.child("repository", repos);
  for (const name of Object.keys(repos)) {
    checkName(repoTables, name, name);
    const r = new Reader(
      doc,
      repoTables.subTable(name)!,
      ["repository", name],
      `repository "${name}"`,
    );
    if (options.repositories?.[name]) r.fail([], "is already defined by the local configuration");
    config.repositories[name] = parseRepository(r, name, expand);
    maintenance.push(...parseMaintenance(r, name));
  }

  const names = new Set([
    ...Object.keys(options.repositories ?? {}),
    ...Object.keys(config.repositories),
  ]);
  const jobsValue = data.job;
  if (jobsValue !== undefined && !Array.isArray(jobsValue)) {
    top.fail(["job"], "expected [[job]] tables (an array of tables)");
  }
  const seen = new Map<string, number>();
  (jobsValue as unknown[] | undefined ?? []).forEach((table, i) => {
    const job: JobDefinition = parseJob(doc, table, i, {
      expand,
      repositories: names,
      remote: remoteDoc,
    });
    const before = seen.get(job.name);
    if (before !== undefined) {
      new Reader(doc, {}, ["job", i, "name"], `job "${job.name}"`).fail(
        [],
        `duplicate job name (also job #${before + 1})`,
      );
    }
    seen.set(job.name, i);
    config.jobs.push(job);
  });
  for (const task of maintenance) {
    const clash = seen.get(task.name);
    if (clash !== undefined) {
      new Reader(doc, {}, ["job", clash, "name"], `job "${task.name}"`).fail(
        [],
        `the name of repository "${task.repository}"'s scheduled ${task.maintenance!.task}; ` +
          "rename the job",
      );
    }
    config.jobs.push(task);
  }

  if (remoteDoc) {
    config.version = top.integer("version", { required: true, min: 1 });
    config.expires = parseExpires(top);
    const reportUrl = parseReportUrl(top);
    if (reportUrl !== undefined) config.reportUrl = reportUrl;
  } else {
    const remote = top.subTable("remote");
    if (remote) config.remote = parseRemote(top.child("remote", remote), expand);
  }
  return config;
}

function tooLarge(file: string): ConfigError {
  return new ConfigError({ file }, `too large: more than ${MAX_JOB_FILE_BYTES} bytes`);
}

/**
 * Reads and parses a job file. A missing or unreadable file is a
 * {@linkcode ConfigError} too, so the CLI has one error path (exit 2).
 */
export async function loadJobConfig(
  path: string,
  options: Omit<ParseJobConfigOptions, "remote"> = {},
): Promise<JobConfig> {
  let text: string;
  try {
    // Not readTextFile: a huge (or endless, like /dev/zero) file is refused
    // after MAX_JOB_FILE_BYTES + 1 bytes instead of being read whole.
    text = await readBoundedText(path, MAX_JOB_FILE_BYTES);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const why = e instanceof Deno.errors.NotFound
      ? "file not found"
      : `cannot read file: ${(e as Error).message}`;
    throw new ConfigError({ file: path }, why, { cause: e });
  }
  return parseJobConfig(text, path, options);
}

async function readBoundedText(path: string, limit: number): Promise<string> {
  using file = await Deno.open(path);
  const buf = new Uint8Array(limit + 1);
  let n = 0;
  while (n < buf.length) {
    const got = await file.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  if (n > limit) throw tooLarge(path);
  return new TextDecoder().decode(buf.subarray(0, n));
}
