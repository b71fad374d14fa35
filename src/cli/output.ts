import { Logger, logStyleFor } from "./log.ts";
export { formatBytes, printable } from "../text/mod.ts";

/**
 * Where a command writes: stdout for results, stderr for progress and
 * diagnostics. Progress lines are shown only on a terminal.
 */
export interface Output {
  /** Writes a line of results (stdout). */
  out(line: string): void;
  /**
   * Writes a line of diagnostics (stderr) through {@link log}, its severity
   * read from its prefix: `warning: …`, `error: …`, else info.
   */
  err(line: string): void;
  /** The logger behind `err`: severities, `--quiet`/`--verbose`, journal or text form. */
  readonly log: Logger;
  /** Raw bytes to stdout (for `dump`). */
  writeBytes(bytes: Uint8Array): Promise<void>;
  /** Shows transient status line(s) on a terminal, replacing the last; `[]` clears; no-op elsewhere. */
  status(line: string | readonly string[]): void;
  /** Is stderr a terminal (so progress is worth drawing)? */
  readonly interactive: boolean;
}

const enc = new TextEncoder();

/** Output on the process's stdout and stderr; `env` chooses the log style (see `log.ts`). */
export function processOutput(
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Output {
  const interactive = Deno.stderr.isTerminal();
  /** Lines of status drawn; the cursor is on the last. */
  let statusShown = 0;
  const clear = () => {
    if (statusShown > 0) {
      Deno.stderr.writeSync(enc.encode("\r\x1b[2K" + "\x1b[1A\x1b[2K".repeat(statusShown - 1)));
      statusShown = 0;
    }
  };
  const log = new Logger((line) => {
    clear();
    writeAllSync(Deno.stderr, enc.encode(line + "\n"));
  }, logStyleFor(env));
  return {
    interactive,
    log,
    out(line) {
      clear();
      writeAllSync(Deno.stdout, enc.encode(line + "\n"));
    },
    err: (line) => log.line(line),
    async writeBytes(bytes) {
      clear();
      let at = 0;
      while (at < bytes.length) at += await Deno.stdout.write(bytes.subarray(at));
    },
    status(line) {
      if (!interactive) return;
      const size = Deno.consoleSize?.() ?? { columns: 80, rows: 24 };
      const lines = (typeof line === "string" ? [line] : line).slice(0, Math.max(1, size.rows - 1))
        .map((l) => l.slice(0, size.columns - 1));
      clear();
      if (lines.length === 0) return;
      writeAllSync(Deno.stderr, enc.encode(lines.join("\n")));
      statusShown = lines.length;
    },
  };
}

function writeAllSync(w: { writeSync(b: Uint8Array): number }, bytes: Uint8Array) {
  let at = 0;
  while (at < bytes.length) at += w.writeSync(bytes.subarray(at));
}

/** Output captured in memory, for tests of command functions. */
export function memoryOutput(): Output & {
  stdout: string[];
  stderr: string[];
  bytes: Uint8Array[];
} {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const bytes: Uint8Array[] = [];
  const log = new Logger((l) => void stderr.push(l));
  return {
    interactive: false,
    stdout,
    stderr,
    bytes,
    log,
    out: (l) => void stdout.push(l),
    err: (l) => log.line(l),
    writeBytes: (b) => Promise.resolve(void bytes.push(b.slice())),
    status: () => {},
  };
}

/** `packsDropped` → `packs_dropped`: the JSON output's one naming style (restic's). */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * A copy of `value` with every object key, at every depth, in snake_case:
 * for printing result records whose keys are field names (prune's or
 * check's statistics, status records), never maps keyed by data (paths,
 * names), whose keys must stay as they are.
 */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== "object" || value.constructor !== Object) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [snakeCase(k), snakeCaseKeys(v)]),
  );
}
