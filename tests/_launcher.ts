/**
 * Runs the cairn CLI for end-to-end tests: the compiled binary when
 * `CAIRN_BIN` is set, else `deno run main.ts`, so one suite checks both.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/** What a cairn run printed and returned. */
export interface CairnResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Uint8Array;
}

export interface CairnOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdin?: Uint8Array;
  /** A command to run cairn under, e.g. `unshare --user ...`; cairn's own command follows it. */
  wrap?: string[];
}

/** Variables passed through from the test process; everything else is explicit. */
const PASS_THROUGH = ["PATH", "HOME", "TMPDIR", "DENO_DIR", "XDG_CACHE_HOME", "LANG", "TZ", "USER"];

/** A `Deno.Command` that runs cairn with `args` (for tests that need to spawn it). */
export function cairnCommand(args: string[], opts: CairnOptions = {}): Deno.Command {
  const env: Record<string, string> = {};
  for (const k of PASS_THROUGH) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  Object.assign(env, opts.env ?? {});
  const bin = Deno.env.get("CAIRN_BIN");
  const [cmd, argv] = bin
    ? [bin, args]
    : [Deno.execPath(), ["run", "--allow-all", "--quiet", MAIN, ...args]];
  const [program, ...rest] = [...opts.wrap ?? [], cmd, ...argv];
  return new Deno.Command(program, {
    args: rest,
    env,
    clearEnv: true,
    cwd: opts.cwd,
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Runs cairn to completion. */
export async function cairn(args: string[], opts: CairnOptions = {}): Promise<CairnResult> {
  const child = cairnCommand(args, opts).spawn();
  if (opts.stdin) {
    const w = child.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    stdoutBytes: out.stdout,
  };
}

/**
 * SIGTERM to `child`, then its exit status; a child still running after `ms`
 * is killed (SIGKILL) and undefined returned, so a test fails instead of
 * hanging the whole run. Its pipes are the caller's.
 */
export async function stopWithin(
  child: Deno.ChildProcess,
  ms: number,
): Promise<Deno.CommandStatus | undefined> {
  child.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  const status = await Promise.race([child.status, late]);
  clearTimeout(timer);
  if (status) return status;
  child.kill("SIGKILL");
  await child.status;
  return undefined;
}

/** A fresh repository (fast key derivation) and the env that points at it. */
export async function makeRepo(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await Deno.makeTempDir({ prefix: "cairn-repo-" });
  const env = { CAIRN_REPO: `${dir}/repo`, CAIRN_PASSWORD: "correct horse" };
  const r = await cairn(["init", "--kdf-memory", "8", "--kdf-iterations", "1"], { env });
  if (r.code !== 0) throw new Error(`cairn init failed (${r.code}): ${r.stderr}`);
  return { dir, env };
}

/** {@link testRepo}'s repository, its source folder and helpers; disposing removes it all. */
export interface TestRepo {
  dir: string;
  env: Record<string, string>;
  /** `dir/src`, made empty. */
  src: string;
  /** `cairn backup src ...args`; throws unless it exits 0. */
  backup(...args: string[]): Promise<CairnResult>;
  /** `cairn snapshots --json`, parsed. */
  snapshots<T = { id: string }>(): Promise<T[]>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A fresh repository (as {@link makeRepo}) with an empty source folder: `await using t = ...`. */
export async function testRepo(): Promise<TestRepo> {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  const ok = async (args: string[]) => {
    const r = await cairn(args, { env });
    if (r.code !== 0) throw new Error(`cairn ${args[0]} exited ${r.code}: ${r.stderr}`);
    return r;
  };
  return {
    dir,
    env,
    src,
    backup: (...args) => ok(["backup", src, ...args]),
    snapshots: async <T>() => JSON.parse((await ok(["snapshots", "--json"])).stdout) as T[],
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * A job file in `dir` for the repository `makeRepo()` made: its password in a
 * file, a state directory, `top` (more top-level keys, e.g. `metrics_file`),
 * `[repository.main]`, then `jobs` (TOML lines: jobs, `[remote]`, ...).
 * Written to `path` (default `dir/cairn.toml`), which it returns.
 */
export async function writeJobFile(
  dir: string,
  env: Record<string, string>,
  jobs: string[],
  path = `${dir}/cairn.toml`,
  top: string[] = [],
): Promise<string> {
  await Deno.writeTextFile(`${dir}/password`, `${env.CAIRN_PASSWORD}\n`);
  const config = path;
  await Deno.writeTextFile(
    config,
    [
      `state_dir = "${dir}/state"`,
      ...top,
      "[repository.main]",
      `path = "${env.CAIRN_REPO}"`,
      `password_file = "${dir}/password"`,
      ...jobs,
    ].join("\n"),
  );
  return config;
}

/** The last line of a command's stdout parsed as JSON. */
export function lastJson<T = Record<string, unknown>>(r: CairnResult): T {
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * How to run cairn without root's power to read any file: as root, in a user
 * namespace as uid 1000 (root's files then obey their mode bits); otherwise
 * as is. Undefined when root cannot make a user namespace here.
 */
export const UNPRIVILEGED: string[] | undefined = await (async () => {
  if (Deno.uid() !== 0) return [];
  const wrap = ["unshare", "--user", "--map-user=1000", "--map-group=1000"];
  try {
    const out = await new Deno.Command(wrap[0], {
      args: [...wrap.slice(1), "id", "-u"],
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success && new TextDecoder().decode(out.stdout).trim() === "1000" ? wrap : undefined;
  } catch {
    return undefined;
  }
})();

/** `n` random bytes (crypto.getRandomValues gives at most 64 KiB a call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}
