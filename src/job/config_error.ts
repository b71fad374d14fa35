/**
 * The error every job-file problem is reported with.
 *
 * @module
 */

const MAX_KEY = 120;
const MAX_MESSAGE = 1000;

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Where a {@linkcode ConfigError} points to. */
export interface ConfigErrorLocation {
  /** The file (or other source name) the text came from. */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** The key the problem is about, dotted inside its table (`keep.daily`, `paths[2]`). */
  key?: string;
}

/**
 * A job file is invalid. The message is always one line, in the form
 * `cairn.toml:12: job "etc": key "schedule": invalid cron expression "0 2 * *" (...)`,
 * so the CLI can print it as is and exit with status 2.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The file (or other source name) the text came from. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** The key the problem is about, when there is one. */
  readonly key?: string;

  /** Builds the one-line message from the location, an optional context and the detail. */
  constructor(
    location: ConfigErrorLocation,
    detail: string,
    options?: { context?: string; cause?: unknown },
  ) {
    const parts = [location.line ? `${location.file}:${location.line}` : location.file];
    if (options?.context) parts.push(options.context);
    if (location.key) parts.push(`key "${clip(location.key, MAX_KEY)}"`);
    parts.push(detail);
    // One line, always: multi-line causes (e.g. TOML excerpts) would break log parsing.
    // Short too: a hostile file's 100 KB key must not become a 100 KB log line.
    super(clip(parts.join(": ").replace(/\s*\n\s*/g, " "), MAX_MESSAGE), {
      cause: options?.cause,
    });
    this.file = location.file;
    this.line = location.line;
    this.key = location.key;
  }
}
