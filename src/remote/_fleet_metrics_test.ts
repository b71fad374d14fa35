import { assert, assertEquals } from "../testing/asserts.ts";
import { renderFleetMetrics } from "./_fleet_metrics.ts";
import { FleetState, viewFleet } from "./_fleet_view.ts";

const T = Date.parse("2026-03-10T12:00:00Z");

Deno.test("renderFleetMetrics() has per host and job series, poll age and stale flags", () => {
  const s = new FleetState();
  s.addReport({
    host: "web1",
    job: 'we"ird\njob',
    start: new Date(T - 90_000).toISOString(),
    end: new Date(T - 60_000).toISOString(),
    result: "partial",
    snapshot: "ab",
    files: 7,
    bytes: 4096,
    error: null,
    received: new Date(T).toISOString(),
  });
  s.addHeartbeat({ host: "web1", poll_seconds: 60, received: new Date(T - 600_000).toISOString() });
  const text = renderFleetMetrics(viewFleet(s, T), T);
  const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
  const j = `host="web1",job="we\\"ird\\njob"`;
  assertEquals(lines, [
    `cairn_job_last_run_timestamp_seconds{${j}} ${(T - 60_000) / 1000}`,
    `cairn_job_last_duration_seconds{${j}} 30`,
    `cairn_job_last_result{${j},result="success"} 0`,
    `cairn_job_last_result{${j},result="partial"} 1`,
    `cairn_job_last_result{${j},result="failed"} 0`,
    `cairn_job_last_bytes_added{${j}} 4096`,
    `cairn_job_last_files{${j}} 7`,
    `cairn_job_stale{${j}} 0`,
    `cairn_host_last_poll_age_seconds{host="web1"} 600`,
    `cairn_host_poll_interval_seconds{host="web1"} 60`,
    `cairn_host_stale{host="web1"} 1`,
  ]);
  assert(text.includes("# TYPE cairn_host_stale gauge"));
});
