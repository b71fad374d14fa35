/**
 * The run report an agent POSTs after each job run, and its validation.
 *
 * Shared by the sending side (`reports.ts`) and the reference endpoint
 * (`serve.ts`) so both agree on one shape.
 */

/**
 * How a reported run ended: all files saved, some unreadable, or no snapshot
 * (the job's `RunOutcome`s `failed` and `skipped` are both `failed`): the
 * words `cairn status`, `cairn run` and the agent's metrics use.
 */
export type ReportOutcome = "success" | "partial" | "failed";

/** One job run, as sent to the document's `report_url`. */
export interface RunReport {
  host: string;
  job: string;
  /** RFC 3339 timestamps. */
  start: string;
  end: string;
  result: ReportOutcome;
  /** Id of the snapshot written, or null when none was. */
  snapshot: string | null;
  files: number;
  bytes: number;
  /** One-line error, or null. */
  error: string | null;
}

const RESULTS: readonly string[] = ["success", "partial", "failed"];
/** What agents before the one word (0.1.0) sent, and reports stored then say, for `failed`. */
const OLD_FAILED = "failure";
const MAX_TEXT = 4096;

/** Returns why `x` is not a {@link RunReport} (one line), or undefined if it is one. */
export function reportProblem(x: unknown): string | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return "report is not an object";
  const r = x as Record<string, unknown>;
  for (const key of ["host", "job"] as const) {
    const v = r[key];
    if (typeof v !== "string" || v === "" || v.length > 255) {
      return `report.${key} must be a non-empty string`;
    }
  }
  for (const key of ["start", "end"] as const) {
    const v = r[key];
    if (typeof v !== "string" || v.length > 64 || Number.isNaN(Date.parse(v))) {
      return `report.${key} must be an RFC 3339 timestamp`;
    }
  }
  if (typeof r.result !== "string" || !(RESULTS.includes(r.result) || r.result === OLD_FAILED)) {
    return `report.result must be one of ${RESULTS.join(", ")}`;
  }
  for (const key of ["files", "bytes"] as const) {
    const v = r[key];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      return `report.${key} must be a non-negative integer`;
    }
  }
  for (const key of ["snapshot", "error"] as const) {
    const v = r[key];
    if (v !== null && (typeof v !== "string" || v.length > MAX_TEXT)) {
      return `report.${key} must be a string or null`;
    }
  }
  return undefined;
}

/** Copies only the known fields, so stored reports carry nothing unvalidated. */
export function pickReport(r: RunReport): RunReport {
  return {
    host: r.host,
    job: r.job,
    start: r.start,
    end: r.end,
    result: (r.result as string) === OLD_FAILED ? "failed" : r.result,
    snapshot: r.snapshot,
    files: r.files,
    bytes: r.bytes,
    error: r.error,
  };
}
