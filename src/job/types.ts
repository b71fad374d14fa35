/**
 * The validated, plain-data form of a job file. The CLI, the TOML file and
 * remote job documents all end up as these types, validated once by
 * `parseJobConfig`.
 *
 * @module
 */
import type { HealthPings } from "./health_ping.ts";

import type { KeepPolicy } from "../catalog/retention.ts";

export type { KeepPolicy };

/** A repository a job writes to. Exactly one of `path` and `url` is set. */
export interface RepositoryConfig {
  /** The name used by `job.repository`. */
  name: string;
  /** Absolute path of a local repository. */
  path?: string;
  /** URL of a remote repository (`s3:…`). */
  url?: string;
  /**
   * File holding the password, read as `--password-file` is (src/password/mod.ts). At most
   * one of the three password keys is set.
   */
  passwordFile?: string;
  /** Environment variable holding the password. */
  passwordEnv?: string;
  /** A command whose output is the password (`sh -c`); see src/password/password_command.ts. */
  passwordCommand?: string;
  /** Create the repository on first use when there is none (`init = true`). */
  init?: boolean;
  /** S3 settings of a `url = "s3:…"` repository; only keys the file sets are present. */
  s3?: S3RepositorySettings;
  /** `object_lock = { mode, days }`: with `init = true`, create the repository with Object Lock. */
  objectLock?: { mode: "governance" | "compliance"; days: number };
}

/** The S3 keys of a repository table (docs/JOBS.md). Credentials are named by file. */
export interface S3RepositorySettings {
  region?: string;
  pathStyle?: boolean;
  caFile?: string;
  storageClass?: string;
  accessKeyIdFile?: string;
  secretAccessKeyFile?: string;
}

/** A `before`/`after` command. */
export interface HookCommand {
  /** As written in the file, for messages. */
  display: string;
  /** What is executed: a string runs via `/bin/sh -c`, an array runs directly. */
  argv: string[];
}

/** Where and how a job's snapshots are mirrored after each run. */
export interface MirrorConfig {
  /** Absolute path template; may contain `{job}`, `{host}`, `{date}`, `{time}`, `{snapshot}`. */
  path: string;
  /** Delete mirrored files that are no longer in the snapshot. */
  purge: boolean;
  /** Retention for mirrored copies. */
  keep?: KeepPolicy;
  /** A mount point the mirror must be on: the run's mirror is refused when it is not mounted. */
  requireMount?: string;
}

/** One `copy_to` entry: a repository of the job file and what it keeps of this job's copies. */
export interface CopyTarget {
  /** Name of a repository in {@linkcode JobConfig.repositories}, not the job's own. */
  repository: string;
  /** Retention applied there after each copy; undefined: every copy is kept. */
  keep?: KeepPolicy;
}

/** One `[[job]]`. */
export interface JobDefinition {
  name: string;
  /** Name of a repository in {@linkcode JobConfig.repositories}. */
  repository: string;
  /** Absolute paths to back up (after `~`/`$VAR` expansion). */
  paths: string[];
  /** Exclude patterns (gitignore-like globs; `~`/`$VAR` expanded). */
  exclude: string[];
  /** Skip directories that contain a file with one of these names. */
  excludeIfPresent: string[];
  /** List files (one path a line, read at each run) adding paths to back up: `files_from`. */
  filesFrom?: string[];
  /** List files of exclude patterns, read at each run: `exclude_file`. */
  excludeFile?: string[];
  /** Case-insensitive exclude patterns: `iexclude`. */
  iexclude?: string[];
  /** List files of case-insensitive exclude patterns: `iexclude_file`. */
  iexcludeFile?: string[];
  /** Leave out directories tagged with a valid `CACHEDIR.TAG`. */
  excludeCaches?: boolean;
  /** Leave out files larger than this many bytes. */
  excludeLargerThan?: number;
  /** Health-check URLs pinged on start, success and failure (see `health_ping.ts`). */
  health?: HealthPings;
  /** Do not cross file-system boundaries. */
  oneFileSystem: boolean;
  /** Read block devices as files of their size (disk images). */
  readSpecial?: boolean;
  /** Cron expression in the agent's local time; undefined: never run by the agent. */
  schedule?: string;
  /** Upper bound (exclusive) of the random start delay, in milliseconds. */
  jitterMs: number;
  /** Tags put on every snapshot of this job. */
  tags: string[];
  /** Host name recorded in snapshots; undefined: the machine's host name. */
  host?: string;
  /** Run before the backup; the first failing one skips the run. */
  before: HookCommand[];
  /** Run after the backup, whatever its result. */
  after: HookCommand[];
  /** Retention applied after a successful run; undefined: no automatic forget. */
  keep?: KeepPolicy;
  mirror?: MirrorConfig;
  /**
   * `copy_to`: further repositories of the same file each new snapshot is
   * copied into after the backup, in order, each with its own retention.
   */
  copyTo?: CopyTarget[];
  /**
   * Back up this command's stdout as one file, `/name`, instead of files
   * (`paths` is then `["/" + name]`); a run whose command does not exit 0
   * writes no snapshot.
   */
  command?: { argv: string[]; name: string };
  /**
   * Set for a repository's scheduled maintenance (`[repository.NAME.prune]`,
   * `[repository.NAME.check]`), which the agent plans, runs, records and
   * reports as a job named `NAME.prune` or `NAME.check`: it backs nothing up
   * (`paths` is empty) and runs only this task on `repository`.
   */
  maintenance?: MaintenanceTask;
}

/** What a repository's scheduled maintenance does (docs/JOBS.md "Maintenance"). */
export type MaintenanceTask =
  | {
    task: "prune";
    /** How long a backup may run (prune's `--grace`); undefined: prune's default. */
    graceMs?: number;
    /** Repack packs with more unused bytes than this fraction; undefined: prune's default. */
    maxUnusedFraction?: number;
  }
  | {
    task: "check";
    /** Read and verify every blob (`--read-data`). */
    readData?: boolean;
    /** Read only these packs (`--read-data-subset`), as written: `N/M`, `P%` or a size. */
    readDataSubset?: string;
  };

/** The `[remote.allow]` limits for remote job documents. */
export interface RemoteAllow {
  /** Repository names remote jobs may use. */
  repositories: string[];
  /** Absolute path prefixes remote jobs may back up. */
  paths: string[];
}

/** The `[remote]` table of a bootstrap file: where to fetch signed job documents. */
export interface RemoteConfig {
  /** http(s) URL of the job document. */
  url: string;
  /** Raw 32-byte Ed25519 public key the document must be signed with. */
  publicKey: Uint8Array;
  /** File holding a bearer token for the request. */
  tokenFile?: string;
  /** How often to poll, in milliseconds (default 5 minutes). */
  pollMs: number;
  /** PEM file of extra CA certificates to trust. */
  caFile?: string;
  allow: RemoteAllow;
}

/** A whole validated job file (or remote job document). */
export interface JobConfig {
  /** The file name it was read from (used in messages). */
  source: string;
  /** Where status records live. */
  stateDir: string;
  /** Prometheus textfile to write after every run. */
  metricsFile?: string;
  /** By name. */
  repositories: Record<string, RepositoryConfig>;
  /** In file order. */
  jobs: JobDefinition[];
  /** Only in local (bootstrap) files. */
  remote?: RemoteConfig;
  /** Only in remote documents: increases with every published document. */
  version?: number;
  /** Only in remote documents: the document must not be used after this. */
  expires?: Date;
  /** Only in remote documents: where to POST run reports. */
  reportUrl?: string;
}
