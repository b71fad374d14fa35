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
import { type MetricFamily, renderExposition } from "../prom/mod.ts";

const OUTCOMES: readonly RunOutcome[] = ["success", "partial", "failed", "skipped"];

const seconds = (iso: string | undefined) => iso === undefined ? undefined : Date.parse(iso) / 1000;

/** Renders the metrics for `records` in the Prometheus text exposition format. */
export function renderMetrics(records: readonly StatusRecord[]): string {
  const family = (
    name: string,
    help: string,
    value: (r: StatusRecord) => number | undefined,
  ): MetricFamily => ({
    name,
    help,
    type: "gauge",
    samples: records.flatMap((r) => {
      const v = value(r);
      return v === undefined ? [] : [{ labels: { job: r.job }, value: v }];
    }),
  });
  return renderExposition([
    family(
      "cairn_job_last_success_timestamp_seconds",
      "End of the last successful run.",
      (r) => seconds(r.lastSuccess),
    ),
    family(
      "cairn_job_last_run_timestamp_seconds",
      "End of the last run, whatever its result.",
      (r) => seconds(r.lastEnd),
    ),
    family("cairn_job_last_duration_seconds", "Duration of the last run.", (r) => {
      const a = seconds(r.lastStart);
      const b = seconds(r.lastEnd);
      return a === undefined || b === undefined ? undefined : b - a;
    }),
    {
      name: "cairn_job_last_result",
      help: "1 for the result of the last run, 0 for the others.",
      type: "gauge",
      samples: records.flatMap((r) =>
        r.result === undefined ? [] : OUTCOMES.map((o) => ({
          labels: { job: r.job, result: o },
          value: o === r.result ? 1 : 0,
        }))
      ),
    },
    family(
      "cairn_job_last_bytes_added",
      "Bytes added to the repository by the last run.",
      (r) => r.bytesAdded,
    ),
    family("cairn_job_last_files", "Files in the snapshot of the last run.", (r) => r.files),
  ]);
}

/** Writes the textfile atomically, so the collector never reads half of it. */
export async function writeMetrics(path: string, records: readonly StatusRecord[]): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  // World-readable: node_exporter usually runs as another user.
  await writeFileAtomic(path, renderMetrics(records), { mode: 0o644 });
}
