/**
 * What the side-by-side benchmarks share: the corpus and tool checks, the
 * cairn command line, and the wall-time and peak-memory measure (GNU time).
 */
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const CORPUS = Deno.env.get("CAIRN_CORPUS") ??
  `${Deno.env.get("HOME")}/.cache/cairn-corpus`;
export const OLD = `${CORPUS}/linux-6.1.170`;
export const NEW = `${CORPUS}/linux-6.1.176`;
export const PASSWORD = "bench-password";
/** The V8 flags the release binary is compiled with (see deno.json "build"). */
export const V8_FLAGS = "--v8-flags=--max-semi-space-size=2,--expose-gc";

/** The bench's scratch directory: `CAIRN_BENCH_DIR`, else `~/.cache/NAME`. */
export function workDir(name: string): string {
  return Deno.env.get("CAIRN_BENCH_DIR") ?? `${Deno.env.get("HOME")}/.cache/${name}`;
}

export interface Measure {
  wallS: number;
  peakMiB: number;
  stdout: string;
}

/** Runs a command to its end; throws with its stderr unless it succeeded. */
export function sh(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const out = new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).outputSync();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** {@link sh} of a whole command line, as {@link cairnCmd} makes them. */
export function run(cmd: string[], env: Record<string, string> = {}): string {
  return sh(cmd[0], cmd.slice(1), env);
}

export function have(cmd: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync()
    .success;
}

/**
 * Runs a command under GNU time (after a `sync`: the previous run's writes
 * are not this run's cost): wall seconds and peak RSS. Exit codes in
 * `okCodes` count as success (a backup with unreadable files exits 3).
 */
export function timed(
  work: string,
  cmd: string[],
  env: Record<string, string>,
  okCodes: number[] = [0],
): Measure {
  sh("sync", []);
  const out = new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %M", "-o", `${work}/.time`, ...cmd],
    env,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!okCodes.includes(out.code)) {
    throw new Error(`${cmd.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  const [wall, kb] = Deno.readTextFileSync(`${work}/.time`).trim().split(/\s+/).slice(-2);
  return {
    wallS: Number(wall),
    peakMiB: Number(kb) / 1024,
    stdout: new TextDecoder().decode(out.stdout),
  };
}

/** A cairn command line: `CAIRN_BIN` if set, else main.ts with the release build's V8 flags. */
export function cairnCmd(args: string[]): string[] {
  const bin = Deno.env.get("CAIRN_BIN");
  return bin
    ? [bin, ...args]
    : [Deno.execPath(), "run", "-A", "--quiet", V8_FLAGS, `${ROOT}main.ts`, ...args];
}

/** Fetches the kernel corpus and installs restic and GNU time when missing. */
export function ensureInputs(): void {
  try {
    Deno.statSync(OLD);
    Deno.statSync(NEW);
  } catch {
    console.error("fetching the corpus with ../shared/corpus/linux-kernel.sh ...");
    sh("bash", [`${ROOT}../shared/corpus/linux-kernel.sh`, CORPUS]);
  }
  if (!have("restic")) {
    console.error("installing restic with apt-get ...");
    sh("sh", ["-c", "apt-get update -qq && apt-get install -y -qq restic"]);
  }
  if (!have("/usr/bin/time")) sh("sh", ["-c", "apt-get install -y -qq time"]);
}

/**
 * A new, empty 8 GiB ext4 on a loop device from `image`, mounted at `dir`
 * (unmounted first if it was), with nothing left to write back. Needs root.
 */
export function freshExt4(dir: string, image: string): string {
  new Deno.Command("umount", { args: [dir], stderr: "null" }).outputSync();
  Deno.mkdirSync(dir, { recursive: true });
  sh("truncate", ["-s", "0", image]);
  sh("truncate", ["-s", "8G", image]);
  sh("mkfs.ext4", ["-q", "-F", image]);
  sh("mount", ["-o", "loop", image, dir]);
  sh("sync", []);
  return dir;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function removeIfThere(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

export const secs = (v: number) => `${v.toFixed(2)} s`;
export const mib = (v: number) => `${v.toFixed(0)} MiB`;
