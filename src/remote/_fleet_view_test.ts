import { assert, assertEquals } from "../testing/asserts.ts";
import { FleetState, formatDuration, MISSED_RUN_GRACE_MS, viewFleet } from "./_fleet_view.ts";
import type { ReceivedReport } from "./serve.ts";

const T = Date.parse("2026-03-10T12:00:00Z");
const H = 3600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function report(host: string, job: string, end: number, result = "success"): ReceivedReport {
  return {
    host,
    job,
    start: iso(end - 60_000),
    end: iso(end),
    result: result as ReceivedReport["result"],
    snapshot: null,
    files: 1,
    bytes: 10,
    error: null,
    received: iso(end),
  };
}

/** A host that polls every 5 min, last at `polled`, with job "home" planned at `runs`. */
function fleet(polled: number, runs: number[], lastEnd?: number, running?: string) {
  const s = new FleetState();
  if (lastEnd !== undefined) s.addReport(report("web1", "home", lastEnd));
  s.addHeartbeat({
    host: "web1",
    poll_seconds: 300,
    running: running ?? null,
    jobs: [{ job: "home", schedule: "0 * * * *", next_runs: runs.map(iso) }],
    received: iso(polled),
  });
  return s;
}

Deno.test("viewFleet() marks a host stale after three poll intervals without a poll, not before", () => {
  const s = fleet(T, [T + H, T + 2 * H]);
  assertEquals(viewFleet(s, T + 15 * 60_000)[0].stale, []);
  const [v] = viewFleet(s, T + 15 * 60_000 + 1000);
  assertEquals(v.stale, ["no poll for 15 min 1 s (polls every 5 min)"]);
});

Deno.test("viewFleet() marks a job stale when its two planned runs passed with no report", () => {
  // Polls kept coming (a live agent whose scheduler is stuck), so only the job rule applies.
  const s = fleet(T, [T - 2 * H, T - H], T - 3 * H);
  s.addPoll("web1", T + 4 * 60_000);
  const early = viewFleet(s, T - H + MISSED_RUN_GRACE_MS);
  assertEquals(early[0].jobs[0].stale, undefined);
  const [v] = viewFleet(s, T + 5 * 60_000);
  assert(v.jobs[0].stale?.startsWith("missed two scheduled runs"), v.jobs[0].stale);
  assertEquals(v.stale.length, 1);
  assert(v.stale[0].startsWith('job "home" missed two'), v.stale[0]);
});

Deno.test("viewFleet() does not count a run that ended after the first planned start as missed", () => {
  const s = fleet(T - 3 * H, [T - 2 * H, T - H], T - 2 * H + 60_000);
  s.addPoll("web1", T);
  assertEquals(viewFleet(s, T)[0].stale, []);
});

Deno.test("viewFleet() does not mark a job stale while it is running", () => {
  const s = fleet(T, [T - 2 * H, T - H], T - 3 * H, "home");
  assertEquals(viewFleet(s, T + 60_000)[0].stale, []);
  assertEquals(viewFleet(s, T + 60_000)[0].jobs[0].running, true);
});

Deno.test("viewFleet() treats a host without heartbeats as unknown, never stale", () => {
  const s = new FleetState();
  s.addReport(report("old", "home", T - 30 * 24 * H));
  s.addPoll("old", T - 30 * 24 * H);
  const [v] = viewFleet(s, T);
  assertEquals(v.stale, []);
  assertEquals(v.pollSeconds, undefined);
  assertEquals(v.jobs[0].schedule, undefined);
  assertEquals(v.jobs[0].nextRun, undefined);
});

Deno.test("viewFleet() sorts stale hosts first, then by name", () => {
  const s = new FleetState();
  for (const host of ["b", "c", "a"]) {
    s.addHeartbeat({
      host,
      poll_seconds: 60,
      jobs: [],
      received: iso(host === "c" ? T - H : T),
    });
  }
  assertEquals(viewFleet(s, T).map((v) => [v.host, v.stale.length > 0]), [
    ["c", true],
    ["a", false],
    ["b", false],
  ]);
});

Deno.test("FleetState keeps history sorted by end, bounded, with the last success apart", () => {
  const s = new FleetState();
  s.addReport(report("h", "j", T));
  s.addReport(report("h", "j", T - H, "failed"));
  s.addReport(report("h", "j", T + H, "failed"));
  const j = s.hosts.get("h")!.jobs.get("j")!;
  assertEquals(j.history.map((r) => r.end), [iso(T - H), iso(T), iso(T + H)]);
  assertEquals(j.last?.end, iso(T + H));
  assertEquals(j.lastSuccess?.end, iso(T));
  for (let i = 0; i < 600; i++) s.addReport(report("h", "j", T + (i + 2) * H));
  assertEquals(j.history.length, 500);
});

Deno.test("formatDuration() shows the two largest units", () => {
  assertEquals(formatDuration(0), "0 s");
  assertEquals(formatDuration(12_000), "12 s");
  assertEquals(formatDuration(7 * 60_000 + 5000), "7 min 5 s");
  assertEquals(formatDuration(2 * H + 30_000), "2 h");
  assertEquals(formatDuration(3 * 24 * H + 4 * H + 60_000), "3 d 4 h");
});
