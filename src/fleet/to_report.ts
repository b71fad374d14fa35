import type { RunRecord } from "../job/mod.ts";
import type { RunReport } from "../remote/mod.ts";

/** The report POSTed for a run (see docs/REMOTE.md). */
export function toReport(host: string, record: RunRecord): RunReport {
  const r = record.result;
  return {
    host,
    job: record.job,
    start: new Date(record.start).toISOString(),
    end: new Date(record.end).toISOString(),
    result: r.result === "success" || r.result === "partial" ? r.result : "failed",
    snapshot: r.snapshot ?? null,
    files: r.files ?? 0,
    bytes: r.bytesAdded ?? 0,
    error: r.error === undefined ? null : r.error.slice(0, 4096),
  };
}
