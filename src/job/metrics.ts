/**
 * The Prometheus textfile (node_exporter's textfile collector) with the last
 * run of every job.
 *
 * @module
 */

import type { RunOutcome } from "./agent.ts";
import type { StatusRecord } from "./status.ts";
import { dirname } from "node:path";
import { writeFileAtomic } from "../fs/mod.ts";

const OUTCOMES: readonly RunOutcome[] = ["success", "partial", "failed", "skipped"];

function label(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

const seconds = (iso: string | undefined) => iso === undefined ? undefined : Date.parse(iso) / 1000;

/** Renders the metrics for `records` in the Prometheus text exposition format. */
export function renderMetrics(records: readonly StatusRecord[]): string {
  const families: [string, string, (r: StatusRecord) => [string, number][]][] = [
    ["cairn_job_last_success_timestamp_seconds", "End of the last successful run.", (r) => {
      const v = seconds(r.lastSuccess);
      return v === undefined ? [] : [["", v]];
    }],
    ["cairn_job_last_run_timestamp_seconds", "End of the last run, whatever its result.", (r) => {
      const v = seconds(r.lastEnd);
      return v === undefined ? [] : [["", v]];
    }],
    ["cairn_job_last_duration_seconds", "Duration of the last run.", (r) => {
      const a = seconds(r.lastStart);
      const b = seconds(r.lastEnd);
      return a === undefined || b === undefined ? [] : [["", b - a]];
    }],
    [
      "cairn_job_last_result",
      "1 for the result of the last run, 0 for the others.",
      (r) =>
        r.result === undefined
          ? []
          : OUTCOMES.map((o) => [`,result="${o}"`, o === r.result ? 1 : 0]),
    ],
    [
      "cairn_job_last_bytes_added",
      "Bytes added to the repository by the last run.",
      (r) => r.bytesAdded === undefined ? [] : [["", r.bytesAdded]],
    ],
    [
      "cairn_job_last_files",
      "Files in the snapshot of the last run.",
      (r) => r.files === undefined ? [] : [["", r.files]],
    ],
  ];
  const out: string[] = [];
  for (const [name, help, values] of families) {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const r of records) {
      for (const [extra, v] of values(r)) out.push(`${name}{job="${label(r.job)}"${extra}} ${v}`);
    }
  }
  return out.join("\n") + "\n";
}

/** Writes the textfile atomically, so the collector never reads half of it. */
export async function writeMetrics(path: string, records: readonly StatusRecord[]): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  // World-readable: node_exporter usually runs as another user.
  await writeFileAtomic(path, renderMetrics(records), { mode: 0o644 });
}
