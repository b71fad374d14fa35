/**
 * The one logger behind every command's diagnostics on stderr: each line has
 * a severity, and its form depends on where stderr goes.
 *
 * - On a terminal or a plain file: `warning: …`, `error: …`, info as is.
 *   Daemons (`agent`, `serve`, `run`) turn on {@link Logger.timestamps}, so
 *   each line starts with the time in UTC, ISO 8601, and its severity:
 *   `2026-12-02T17:07:48.123Z info: job "web": starting`.
 * - Under systemd's journal (`JOURNAL_STREAM` names stderr, see
 *   systemd.exec(5)): the syslog priority as a `<N>` prefix, which journald
 *   takes as the line's PRIORITY (`SyslogLevelPrefix=`, on by default), and
 *   no timestamp, since journald adds its own.
 *
 * `--quiet` drops info and debug lines, `--verbose` adds debug ones; warnings
 * and errors are always shown.
 *
 * @module
 */

/** How bad a diagnostic is: the syslog levels cairn uses. */
export type Severity = "error" | "warning" | "info" | "debug";

/** How much a command says: `--quiet`, the default, `--verbose`. */
export type Verbosity = "quiet" | "normal" | "verbose";

/** `text` for terminals and files, `journal` for journald (`<N>` priority prefixes). */
export type LogStyle = "text" | "journal";

/** The syslog priority of each severity (RFC 5424), for the journal's `<N>` prefix. */
export const SYSLOG_PRIORITY: Readonly<Record<Severity, number>> = {
  error: 3,
  warning: 4,
  info: 6,
  debug: 7,
};

/** How {@link formatLogLine} renders a line. */
export interface LogLineOptions {
  style: LogStyle;
  /** Start with the time (UTC, ISO 8601); never in the journal style, which has its own. */
  timestamps?: boolean;
  /** The time to print; default now. */
  now?: Date;
  /**
   * Print the message without its severity word in the text style (the
   * one-line fatal error `cairn CMD: …`, which names itself). Timestamped
   * lines always carry the word.
   */
  bare?: boolean;
}

/** One diagnostic as it goes to stderr (several lines for a multi-line message). */
export function formatLogLine(severity: Severity, message: string, o: LogLineOptions): string {
  const lines = message.split("\n");
  if (o.style === "journal") {
    const label = severity === "info" || o.bare ? "" : `${severity}: `;
    return lines.map((l) => `<${SYSLOG_PRIORITY[severity]}>${label}${l}`).join("\n");
  }
  if (o.timestamps) {
    const time = (o.now ?? new Date()).toISOString();
    return lines.map((l) => `${time} ${severity}: ${l}`).join("\n");
  }
  const label = severity === "info" || o.bare ? "" : `${severity}: `;
  return lines.map((l) => label + l).join("\n");
}

/**
 * A line written with `Output.err`, split into its severity and message:
 * `warning: …` and `error: …` (also after a `job "NAME": ` prefix, which
 * moves behind the severity word), anything else is info.
 */
export function parseSeverity(line: string): { severity: Severity; message: string } {
  const m = /^((?:(?:remote )?job "(?:[^"\\]|\\.)*": )?)(warning|error|debug): /.exec(line);
  if (!m) return { severity: "info", message: line };
  return { severity: m[2] as Severity, message: m[1] + line.slice(m[0].length) };
}

/**
 * Is stderr connected to the journal? systemd sets `JOURNAL_STREAM` to the
 * `device:inode` of the stream it connected, so an inherited variable whose
 * stderr was redirected since does not count.
 */
export function stderrIsJournal(
  env: Record<string, string | undefined>,
  statStderr: () => { dev: number; ino: number | null } = () => Deno.statSync("/proc/self/fd/2"),
): boolean {
  const m = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? "");
  if (!m) return false;
  try {
    const s = statStderr();
    return s.dev === Number(m[1]) && s.ino === Number(m[2]);
  } catch {
    return false;
  }
}

/** The style for this process: `CAIRN_LOG_FORMAT=journal|text` wins, else journal when stderr is the journal. */
export function logStyleFor(
  env: Record<string, string | undefined>,
  isJournal: () => boolean = () => stderrIsJournal(env),
): LogStyle {
  const forced = env.CAIRN_LOG_FORMAT;
  if (forced === "journal" || forced === "text") return forced;
  return isJournal() ? "journal" : "text";
}

/** Diagnostics with severities, filtered by verbosity and formatted for where they go. */
export class Logger {
  /** Set from `--quiet` / `--verbose` once the command line is parsed. */
  verbosity: Verbosity = "normal";
  /** Daemons set this: every text line starts with its time and severity. */
  timestamps = false;

  constructor(
    private readonly write: (line: string) => void,
    readonly style: LogStyle = "text",
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Whether a line of this severity is shown at the current verbosity. */
  shows(severity: Severity): boolean {
    if (severity === "error" || severity === "warning") return true;
    if (severity === "info") return this.verbosity !== "quiet";
    return this.verbosity === "verbose";
  }

  log(
    severity: Severity,
    message: string,
    opts: { bare?: boolean; timestamps?: boolean; now?: Date } = {},
  ): void {
    if (!this.shows(severity)) return;
    this.write(formatLogLine(severity, message, {
      style: this.style,
      timestamps: opts.timestamps ?? this.timestamps,
      now: opts.now ?? this.now(),
      bare: opts.bare,
    }));
  }

  error(message: string): void {
    this.log("error", message);
  }
  warn(message: string): void {
    this.log("warning", message);
  }
  info(message: string): void {
    this.log("info", message);
  }
  debug(message: string): void {
    this.log("debug", message);
  }

  /**
   * A line whose severity is its prefix (see {@link parseSeverity}), as
   * `Output.err` takes it. A line that starts with an ISO 8601 UTC time is a
   * log line stamped by its caller: the time moves in front of the severity
   * in the text style, and goes in the journal's.
   */
  line(line: string): void {
    const stamp = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) /.exec(line);
    const { severity, message } = parseSeverity(stamp ? line.slice(stamp[0].length) : line);
    if (!stamp) return this.log(severity, message);
    this.log(severity, message, { timestamps: true, now: new Date(stamp[1]) });
  }
}
