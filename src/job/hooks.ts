/**
 * Running a job's `before` and `after` commands.
 *
 * @module
 */

import type { RunOutcome } from "./agent.ts";
import type { HookCommand } from "./types.ts";

/** The outcome of one command. */
export interface HookResult {
  command: string;
  /** Exit code; null when killed by a signal or aborted. */
  code: number | null;
  success: boolean;
  /** The tail of stdout and stderr combined, at most `maxOutputBytes`. */
  output: string;
}

/** Options for {@linkcode runHooks}. */
export interface RunHooksOptions {
  /** Exposed as `CAIRN_JOB`. */
  job: string;
  /** For `after` hooks: exposed as `CAIRN_RESULT`. */
  result?: RunOutcome;
  /** Extra variables (e.g. `CAIRN_SNAPSHOT`). */
  env?: Record<string, string>;
  /**
   * The environment hooks inherit from, filtered by {@linkcode hookEnvironment}.
   * Default: the process environment.
   */
  inherit?: Record<string, string | undefined>;
  /** Stop at the first failing command (for `before`). Default false. */
  stopOnFailure?: boolean;
  /** Keep at most this much output per command (the end, where errors are). Default 8 KiB. */
  maxOutputBytes?: number;
  signal?: AbortSignal;
}

async function tail(stream: ReadableStream<Uint8Array>, max: number, sink: Uint8Array[]) {
  let size = 0;
  for await (const chunk of stream) {
    sink.push(chunk);
    size += chunk.length;
    while (size - sink[0].length >= max) size -= sink.shift()!.length;
  }
}

/**
 * The variables hooks inherit: an allow-list, not a scrub list. The agent's
 * environment holds secrets under names no list can know in advance
 * (`CAIRN_PASSWORD`, any repository's `password_env`, `AWS_SECRET_ACCESS_KEY`,
 * `AWS_SESSION_TOKEN`, tokens of whatever runs the agent), and a hook needs
 * none of them to find programs, files and the locale.
 */
export const HOOK_ENV: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
];

/** The part of `env` hooks may see: {@linkcode HOOK_ENV} and the `LC_*` locale variables. */
export function hookEnvironment(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (HOOK_ENV.includes(name) || /^LC_[A-Z_]+$/.test(name))) {
      out[name] = value;
    }
  }
  return out;
}

/** Runs one command with exactly the variables in `env`; output is captured, bounded. */
export async function runHook(
  hook: HookCommand,
  env: Record<string, string>,
  options: { maxOutputBytes?: number; signal?: AbortSignal } = {},
): Promise<HookResult> {
  const max = options.maxOutputBytes ?? 8192;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(hook.argv[0], {
      args: hook.argv.slice(1),
      env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: options.signal,
    }).spawn();
  } catch (e) {
    return { command: hook.display, code: null, success: false, output: (e as Error).message };
  }
  const chunks: Uint8Array[] = [];
  // stdout and stderr interleave by arrival, which is what a person reading the log expects.
  const [status] = await Promise.all([
    child.status,
    tail(child.stdout, max, chunks),
    tail(child.stderr, max, chunks),
  ]);
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) bytes.set(c, (off += c.length) - c.length);
  const output = new TextDecoder().decode(bytes.subarray(Math.max(0, bytes.length - max)))
    .trimEnd();
  return { command: hook.display, code: status.code, success: status.success, output };
}

/**
 * Runs commands one after another with the allowed part of the environment
 * (see {@linkcode HOOK_ENV}), `env`, and `CAIRN_JOB` (and `CAIRN_RESULT`) set.
 * With `stopOnFailure` (the `before` hooks) the first failure ends the list;
 * the caller then skips the run, reporting {@linkcode hookFailure}.
 */
export async function runHooks(
  hooks: readonly HookCommand[],
  options: RunHooksOptions,
): Promise<HookResult[]> {
  const env: Record<string, string> = {
    ...hookEnvironment(options.inherit ?? Deno.env.toObject()),
    ...options.env,
    CAIRN_JOB: options.job,
  };
  if (options.result) env.CAIRN_RESULT = options.result;
  const results: HookResult[] = [];
  for (const hook of hooks) {
    options.signal?.throwIfAborted();
    const r = await runHook(hook, env, options);
    results.push(r);
    if (!r.success && options.stopOnFailure) break;
  }
  return results;
}

/** A one-line description of the first failed command, or undefined if all succeeded. */
export function hookFailure(results: readonly HookResult[]): string | undefined {
  const failed = results.find((r) => !r.success);
  if (!failed) return undefined;
  const how = failed.code === null
    ? "could not run or was killed"
    : `exited with code ${failed.code}`;
  const last = failed.output.split("\n").filter((l) => l.trim()).pop();
  return `command "${failed.command}" ${how}${last ? `: ${last}` : ""}`;
}
