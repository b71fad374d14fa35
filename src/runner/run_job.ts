/**
 * Runs one job of a job file now: the core shared by `cairn run` and
 * `cairn agent`. Hooks, backup, retention; never throws, so a run always ends
 * in a {@linkcode RunResult} the caller can record.
 *
 * @module
 */

import {
  backup,
  type BackupOptions,
  type BackupResult,
  commandSource,
  dirCacheFile,
  findParent,
} from "../archiver/mod.ts";
import { cacheDirFor, createBackend, openBackend, type OpenOptions } from "../backend/mod.ts";
import { planForget, removedIds } from "../catalog/mod.ts";
import {
  type CopyTarget,
  hookFailure,
  type JobConfig,
  type JobDefinition,
  type KeepPolicy,
  pingBody,
  pingFor,
  type RepositoryConfig,
  runHooks,
  type RunOutcome,
  type RunResult,
  sendPing,
} from "../job/mod.ts";
import { passwordFromEnv, readPasswordFile, runPasswordCommand } from "../password/mod.ts";
import { checkResolvedPaths } from "../remote/mod.ts";
import { formatBytes, printable } from "../text/mod.ts";
import { readListFile } from "../walker/mod.ts";
import { runMaintenance } from "./_maintenance.ts";
import {
  acquireSharedLock,
  copySnapshots,
  NoRepositoryError,
  type ObjectLockConfig,
  Repository,
  RepositoryExistsError,
  sameBlobIds,
} from "../repo/mod.ts";
import {
  backupWithMirror,
  mirrorLine,
  MirrorRefusedError,
  type MirrorResult,
} from "../mirror/mod.ts";

/** What {@linkcode runJobNow} needs besides the job. */
export interface RunJobNowOptions {
  signal?: AbortSignal;
  /** Warnings and progress lines go to `output.err` (a CLI `Output` will do). */
  output: { err(line: string): void };
  /** Recorded in each snapshot, e.g. `cairn 0.1.0`. */
  programVersion: string;
  /** For `password_env` and the CAIRN_PASSWORD(_FILE) fallback. */
  env: Record<string, string | undefined>;
  /**
   * Set for a job from a remote document: the `remote.allow.paths` prefixes.
   * The job's paths are checked again, resolved, just before the run (a
   * symlink may have been planted since the document was accepted), and the
   * job acts as this machine's host whatever its `host` says.
   */
  remoteAllowPaths?: readonly string[];
}

/** A problem with the job's repository settings, found before anything runs. */
class SetupError extends Error {}

/**
 * Runs `job` once: for a repository's scheduled maintenance, its prune or
 * check (`_maintenance.ts`); otherwise `before` hooks (the first failure skips the run), the
 * backup into the job's repository, its copy into each `copy_to` repository
 * (see {@linkcode copyToTargets}), `after` hooks with `CAIRN_RESULT`, then
 * the job's `keep` policy if the run succeeded. Errors become a `failed`
 * result; unreadable source files make it `partial`.
 */
export async function runJobNow(
  config: JobConfig,
  job: JobDefinition,
  options: RunJobNowOptions,
): Promise<RunResult> {
  const { signal } = options;
  // The run's own log lines, kept for the health ping's body.
  const tail: string[] = [];
  const log = options.output;
  const output: RunJobNowOptions["output"] = {
    err: (line) => {
      tail.push(line);
      if (tail.length > 100) tail.shift();
      log.err(line);
    },
  };
  options = { ...options, output };
  const say = (line: string) => output.err(`job "${job.name}": ${line}`);
  const pingWarning = (m: string) => say(`warning: ${m}`);
  if (job.health?.start) await sendPing(job.health.start, { onWarning: pingWarning });
  let result: RunResult;
  let repo: Repository | undefined;
  if (options.remoteAllowPaths) job = { ...job, host: undefined };
  try {
    signal?.throwIfAborted();
    if (options.remoteAllowPaths) {
      const why = await checkResolvedPaths(job, options.remoteAllowPaths);
      if (why) throw new SetupError(`not allowed: ${why}`);
    }
    const { location, password, init, open, objectLock } = resolveRepository(
      config,
      job,
      options.env,
    );
    const before = job.maintenance ? [] : await runHooks(job.before, {
      job: job.name,
      stopOnFailure: true,
      signal,
      inherit: options.env,
    });
    signal?.throwIfAborted(); // a hook killed by the abort is an interruption, not a skip
    const failed = hookFailure(before);
    if (job.maintenance) {
      result = await runMaintenance(job.maintenance, { location, open, password }, signal, say);
    } else if (failed) {
      result = { result: "skipped", error: `before: ${failed}` };
    } else {
      repo = await openOrCreate(location, open, password, init, say, objectLock);
      result = await backupJob(repo, job, options);
      if (result.snapshot && job.copyTo) {
        result = await copyToTargets(config, job, repo, result, options, say);
      }
    }
  } catch (err) {
    result = { result: "failed", error: errorLine(err, signal) };
  }

  if (job.after.length > 0) {
    const env: Record<string, string> = {};
    if (result.snapshot) env.CAIRN_SNAPSHOT = result.snapshot;
    // Not aborted with the run: `after` hooks are where users undo what `before` did.
    const after = await runHooks(job.after, {
      job: job.name,
      result: result.result,
      env,
      inherit: options.env,
    })
      .catch((err) => [{ command: "after", code: null, success: false, output: String(err) }]);
    const failed = hookFailure(after);
    if (failed) say(`warning: after: ${failed}`);
  }

  if (job.keep && repo && result.result === "success" && !signal?.aborted) {
    try {
      const removed = await forgetForJob(repo, job, job.keep);
      if (removed > 0) say(`removed ${removed} snapshot(s) by the keep policy`);
    } catch (err) {
      say(`warning: keep policy not applied: ${errorLine(err)}`);
    }
  }
  const ping = job.health && pingFor(job.health, result.result);
  if (ping) {
    const body = pingBody([...tail, `job "${job.name}": ${describeResult(result)}`]);
    await sendPing(ping, { body, onWarning: pingWarning });
  }
  return result;
}

/**
 * `copy_to`: the run's new snapshot copied into each target in turn, then
 * that target's `keep` applied to this job's snapshots there. The first
 * copy that fails makes the run failed, naming the target, and stops the
 * rest; the snapshot stays in the job's repository either way.
 */
async function copyToTargets(
  config: JobConfig,
  job: JobDefinition,
  src: Repository,
  result: RunResult,
  options: RunJobNowOptions,
  say: (line: string) => void,
): Promise<RunResult> {
  const { signal } = options;
  const snapshot = (await src.listSnapshots()).find((s) => s.id === result.snapshot);
  if (!snapshot) return { ...result, result: "failed", error: "the new snapshot is gone" };
  for (const target of job.copyTo ?? []) {
    const name = target.repository;
    try {
      signal?.throwIfAborted();
      const { location, password, init, open, objectLock } = resolveRepository(
        config,
        target,
        options.env,
      );
      const dst = await openOrCreate(location, open, password, init, say, objectLock, src);
      if (dst.config.id === src.config.id) {
        throw new SetupError(`it is the job's own repository (${src.config.id})`);
      }
      const lock = await acquireSharedLock(src, {
        signal,
        onWarning: (m) => say(`warning: ${printable(m)}`),
      });
      let copied;
      try {
        copied = await copySnapshots(src, dst, [snapshot], {
          signal,
          onWarning: (m) => say(`warning: copy to "${name}": ${printable(m)}`),
        });
      } finally {
        await lock.release();
      }
      const [entry] = copied.snapshots;
      say(
        entry.skipped
          ? `copy to "${name}": snapshot ${snapshot.id.slice(0, 8)} is there already`
          : `copied snapshot ${snapshot.id.slice(0, 8)} to "${name}" as ${entry.id!.slice(0, 8)}` +
            (sameBlobIds(src, dst) ? "" : " (re-chunked)"),
      );
      if (target.keep) await keepInTarget(dst, job, target, say);
    } catch (err) {
      const line = `copy to "${name}" failed: ${errorLine(err, signal)}`;
      return {
        ...result,
        result: "failed",
        error: result.error ? `${result.error}; ${line}` : line,
      };
    }
  }
  return result;
}

/** A target's keep policy; a failure is a warning, as the job's own keep's is. */
async function keepInTarget(
  dst: Repository,
  job: JobDefinition,
  target: CopyTarget,
  say: (line: string) => void,
) {
  try {
    const removed = await forgetForJob(dst, job, target.keep!);
    if (removed > 0) {
      say(`removed ${removed} snapshot(s) from "${target.repository}" by its keep policy`);
    }
  } catch (err) {
    say(`warning: keep policy of "${target.repository}" not applied: ${errorLine(err)}`);
  }
}

/** The exit code for one outcome: 0 success, 3 partial, 1 failed or skipped. */
export function exitCodeOf(outcome: RunOutcome): number {
  return outcome === "success" ? 0 : outcome === "partial" ? 3 : 1;
}

/** The worst exit code of several runs (1 beats 3 beats 0); 0 for none. */
export function worstExitCode(outcomes: readonly RunOutcome[]): number {
  const codes = outcomes.map(exitCodeOf);
  return codes.includes(1) ? 1 : codes.includes(3) ? 3 : 0;
}

/** A run result in one line, e.g. `success, snapshot 1a2b3c4d, 12 files, 4.00 KiB added`. */
export function describeResult(r: RunResult): string {
  const parts: string[] = [r.result];
  if (r.snapshot) parts.push(`snapshot ${r.snapshot.slice(0, 8)}`);
  if (r.files !== undefined) parts.push(`${r.files} files`);
  if (r.bytesAdded !== undefined) parts.push(`${formatBytes(r.bytesAdded)} added`);
  return parts.join(", ") + (r.error ? `: ${r.error}` : "");
}

/** Opens the repository; with `init = true`, creates it first when there is none. */
async function openOrCreate(
  location: string,
  open: OpenOptions,
  password: string,
  init: boolean,
  say: (line: string) => void,
  objectLock?: ObjectLockConfig,
  chunksLike?: Repository,
): Promise<Repository> {
  try {
    return await Repository.open(openBackend(location, open), password, {
      onWarning: (m) => say(`warning: ${printable(m)}`),
    });
  } catch (err) {
    if (!init || !(err instanceof NoRepositoryError)) throw err;
  }
  let repo: Repository;
  try {
    const create = objectLock
      ? { ...open, s3Backend: { ...open.s3Backend, objectLock: true } }
      : open;
    repo = await Repository.init(await createBackend(location, create), password, {
      host: Deno.hostname(),
      objectLock,
      chunksLike,
    });
  } catch (err) {
    // Another host's init got there first (both found no repository): use
    // the one it made, as if it had been there all along.
    const raced = err instanceof RepositoryExistsError || err instanceof Deno.errors.AlreadyExists;
    if (!raced) throw err;
    return await Repository.open(openBackend(location, open), password);
  }
  say(
    `created repository ${repo.config.id} at ${location}` +
      (chunksLike ? ` with the chunker parameters of ${chunksLike.config.id}` : ""),
  );
  return repo;
}

/** The job's repository location and password; SetupError when they cannot be found. */
function resolveRepository(
  config: JobConfig,
  job: Pick<JobDefinition, "repository">,
  env: Record<string, string | undefined>,
): {
  location: string;
  open: OpenOptions;
  password: string;
  init: boolean;
  objectLock?: ObjectLockConfig;
} {
  const repo: RepositoryConfig | undefined = config.repositories[job.repository];
  if (!repo) throw new SetupError(`unknown repository "${job.repository}"`);
  const location = repo.path ?? repo.url;
  if (location === undefined) throw new SetupError(`repository "${repo.name}" has no location`);
  return {
    location,
    open: { env, s3: repo.s3 },
    password: readJobPassword(repo, env),
    init: repo.init === true,
    objectLock: repo.objectLock,
  };
}

/**
 * The password of a job file's repository: its `password_file`, else
 * `password_command`, else `password_env`, else the `CAIRN_PASSWORD*`
 * fallback of the command line; an Error naming the repository when none gives one.
 */
export function readJobPassword(
  repo: RepositoryConfig,
  env: Record<string, string | undefined>,
): string {
  // The command line's rule for a password file (password/mod.ts), so one file gives one password.
  if (repo.passwordFile !== undefined) return readPasswordFile(repo.passwordFile);
  if (repo.passwordCommand !== undefined) {
    try {
      return runPasswordCommand(
        repo.passwordCommand,
        `repository "${repo.name}": password_command`,
      );
    } catch (err) {
      throw new SetupError((err as Error).message);
    }
  }
  if (repo.passwordEnv !== undefined) {
    const pw = env[repo.passwordEnv];
    if (pw === undefined) {
      throw new SetupError(
        `repository "${repo.name}": environment variable ${repo.passwordEnv} is not set`,
      );
    }
    return pw;
  }
  const pw = passwordFromEnv(env); // the same fallback as the command line's
  if (pw !== undefined) return pw;
  throw new SetupError(
    `repository "${repo.name}": no password (set password_file, password_env or ` +
      "password_command, or CAIRN_PASSWORD_FILE, CAIRN_PASSWORD_COMMAND or CAIRN_PASSWORD)",
  );
}

/**
 * The job's paths and patterns with its list files read (at each run, so
 * an edited list takes effect without a reload). A list file that cannot
 * be read, or a listed path that is not absolute, fails the run.
 */
function jobSelection(job: JobDefinition): {
  paths: string[];
  excludes: string[];
  iexcludes: string[];
} {
  const read = (key: string, file: string) => {
    try {
      return readListFile(file);
    } catch (err) {
      throw new SetupError(`${key} ${printable(file)}: ${(err as Error).message}`);
    }
  };
  const listed = (job.filesFrom ?? []).flatMap((f) =>
    read("files_from", f).map((p) => {
      if (!p.startsWith("/")) {
        throw new SetupError(
          `files_from ${printable(f)}: "${printable(p)}" is not an absolute path`,
        );
      }
      return p;
    })
  );
  const paths = [...job.paths, ...listed];
  if (paths.length === 0) {
    throw new SetupError(`files_from lists no paths (${(job.filesFrom ?? []).join(", ")})`);
  }
  return {
    paths,
    excludes: [...job.exclude, ...(job.excludeFile ?? []).flatMap((f) => read("exclude_file", f))],
    iexcludes: [
      ...(job.iexclude ?? []),
      ...(job.iexcludeFile ?? []).flatMap((f) => read("iexclude_file", f)),
    ],
  };
}

async function backupJob(
  repo: Repository,
  job: JobDefinition,
  { signal, output, programVersion }: RunJobNowOptions,
): Promise<RunResult> {
  const host = job.host ?? Deno.hostname();
  const { paths, excludes, iexcludes } = jobSelection(job);
  const parent = job.command ? undefined : await findParent(repo, host, paths, { job: job.name });
  const opts: BackupOptions = {
    paths,
    excludes,
    iexcludes,
    excludeIfPresent: job.excludeIfPresent,
    excludeCaches: job.excludeCaches,
    excludeLargerThan: job.excludeLargerThan,
    oneFileSystem: job.oneFileSystem,
    readSpecial: job.readSpecial,
    tags: job.tags,
    host,
    job: job.name,
    parent,
    signal,
    stream: job.command ? commandSource(job.command.argv, job.command.name, signal) : undefined,
    programVersion,
    dirCache: job.command
      ? undefined
      : dirCacheFile(repo.config.id, host, paths, (n) => cacheDirFor(n, Deno.env.toObject())),
    onError: (e) =>
      output.err(`job "${job.name}": warning: ${printable(e.path)}: ${printable(e.message)}`),
    onWarning: (m) => output.err(`job "${job.name}": warning: ${printable(m)}`),
  };
  const { r, mirror, mirrorProblem } = await backupMaybeMirrored(repo, job, opts, output);
  const s = r.summary;
  const result: RunResult = {
    result: r.errors.length > 0 ? "partial" : "success",
    snapshot: r.id,
    files: s.files_new + s.files_changed + s.files_unmodified,
    bytesAdded: s.bytes_added,
  };
  if (r.errors.length > 0) {
    const first = r.errors[0];
    result.error = `${r.errors.length} file(s) could not be read, first ${printable(first.path)}: ${
      printable(first.message)
    }`;
  }
  const mirrorErrors = mirror?.errors ?? [];
  if (mirrorProblem !== undefined || mirrorErrors.length > 0) {
    result.result = "partial";
    const line = mirrorProblem ??
      `${mirrorErrors.length} mirror entr${mirrorErrors.length === 1 ? "y" : "ies"} not written, ` +
        `first ${printable(mirrorErrors[0].path)}: ${printable(mirrorErrors[0].message)}`;
    result.error = result.error ? `${result.error}; ${line}` : line;
  }
  return result;
}

/**
 * The job's backup, with its mirror brought up to date in the same pass.
 * A mirror cairn refuses to write (not a cairn mirror, another job's) does
 * not cost the backup: the snapshot is taken anyway and the run is partial.
 */
async function backupMaybeMirrored(
  repo: Repository,
  job: JobDefinition,
  opts: BackupOptions,
  output: RunJobNowOptions["output"],
): Promise<{ r: BackupResult; mirror?: MirrorResult; mirrorProblem?: string }> {
  if (!job.mirror) return { r: await backup(repo, opts) };
  const say = (line: string) => output.err(`job "${job.name}": ${line}`);
  try {
    const r = await backupWithMirror(repo, opts, {
      path: job.mirror.path,
      purge: job.mirror.purge,
      keep: job.mirror.keep,
      requireMount: job.mirror.requireMount,
      onError: (p, m) => say(`warning: mirror: ${printable(p)}: ${printable(m)}`),
      onWarning: (m) => say(`warning: ${printable(m)}`),
    });
    say(printable(mirrorLine(r.mirror)));
    return { r, mirror: r.mirror };
  } catch (err) {
    if (!(err instanceof MirrorRefusedError || err instanceof TypeError)) throw err;
    const problem = `mirror skipped: ${printable((err as Error).message)}`;
    say(`warning: ${problem}`);
    return { r: await backup(repo, opts), mirrorProblem: problem };
  }
}

/**
 * Applies `policy` to this job's snapshots of this host, grouped like
 * `cairn forget` (host, paths, job), and removes the others' snapshot files.
 * Every group is decided before anything is removed.
 */
async function forgetForJob(repo: Repository, job: JobDefinition, policy: KeepPolicy) {
  const host = job.host ?? Deno.hostname();
  const plan = planForget(await repo.listSnapshots(), policy, {
    filter: { hosts: [host], jobs: [job.name] },
  });
  const remove = removedIds(plan);
  await repo.removeSnapshots(remove);
  return remove.length;
}

function errorLine(err: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) {
    const reason = signal.reason;
    return reason instanceof Error && reason.message ? reason.message : "interrupted";
  }
  const msg = err instanceof Error ? err.message : String(err);
  return printable(msg.split("\n")[0]);
}
