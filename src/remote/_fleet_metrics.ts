/**
 * `GET /metrics` of `cairn serve`: the fleet in the Prometheus text format.
 * Job series carry `host` and `job` labels and use the names of the agent's
 * own textfile (`job/metrics.ts`), so one alert rule fits both.
 *
 * @module
 */

import { type MetricFamily, renderExposition, type Sample } from "../prom/mod.ts";
import type { HostView, JobView } from "./_fleet_view.ts";

const RESULTS = ["success", "partial", "failed"] as const;
const seconds = (iso: string) => Date.parse(iso) / 1000;

/** The exposition text for `hosts` (from `viewFleet`) at `now`. */
export function renderFleetMetrics(hosts: readonly HostView[], now: number): string {
  const rows = hosts.flatMap((h) => h.jobs.map((j) => ({ h, j })));
  const jobFamily = (
    name: string,
    help: string,
    value: (j: JobView) => number | undefined,
  ): MetricFamily => ({
    name,
    help,
    type: "gauge",
    samples: rows.flatMap(({ h, j }): Sample[] => {
      const v = value(j);
      return v === undefined ? [] : [{ labels: { host: h.host, job: j.job }, value: v }];
    }),
  });
  return renderExposition([
    jobFamily(
      "cairn_job_last_success_timestamp_seconds",
      "End of the last successful run.",
      (j) => j.lastSuccess && seconds(j.lastSuccess.end),
    ),
    jobFamily(
      "cairn_job_last_run_timestamp_seconds",
      "End of the last run, whatever its result.",
      (j) => j.last && seconds(j.last.end),
    ),
    jobFamily(
      "cairn_job_last_duration_seconds",
      "Duration of the last run.",
      (j) => j.last && seconds(j.last.end) - seconds(j.last.start),
    ),
    {
      name: "cairn_job_last_result",
      help: "1 for the result of the last run, 0 for the others.",
      type: "gauge",
      samples: rows.flatMap(({ h, j }) =>
        j.last
          ? RESULTS.map((r) => ({
            labels: { host: h.host, job: j.job, result: r },
            value: j.last!.result === r ? 1 : 0,
          }))
          : []
      ),
    },
    jobFamily(
      "cairn_job_last_bytes_added",
      "Bytes added to the repository by the last run.",
      (j) => j.last?.bytes,
    ),
    jobFamily(
      "cairn_job_last_files",
      "Files in the snapshot of the last run.",
      (j) => j.last?.files,
    ),
    jobFamily(
      "cairn_job_next_run_timestamp_seconds",
      "Next planned start, from the agent's last heartbeat.",
      (j) => j.nextRun === undefined ? undefined : j.nextRun / 1000,
    ),
    jobFamily(
      "cairn_job_stale",
      "1 when the job missed two scheduled runs.",
      (j) => j.stale === undefined ? 0 : 1,
    ),
    {
      name: "cairn_host_last_poll_age_seconds",
      help: "Seconds since the host last fetched its job document or sent a heartbeat.",
      type: "gauge",
      samples: hosts.flatMap((h) =>
        h.lastPoll === undefined
          ? []
          : [{ labels: { host: h.host }, value: Math.max(0, (now - h.lastPoll) / 1000) }]
      ),
    },
    {
      name: "cairn_host_poll_interval_seconds",
      help: "The host's poll interval, from its last heartbeat.",
      type: "gauge",
      samples: hosts.flatMap((h) =>
        h.pollSeconds === undefined ? [] : [{ labels: { host: h.host }, value: h.pollSeconds }]
      ),
    },
    {
      name: "cairn_host_stale",
      help: "1 when the host stopped polling or one of its jobs missed two scheduled runs.",
      type: "gauge",
      samples: hosts.map((h) => ({ labels: { host: h.host }, value: h.stale.length ? 1 : 0 })),
    },
  ]);
}
