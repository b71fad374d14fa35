import { Agent, type AgentOptions, type RunRecord } from "./agent.ts";
import { FakeClock } from "./clock.ts";
import type { JobDefinition } from "./types.ts";
import { assert, assertEquals } from "../testing/asserts.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// Local time, because schedules are in the agent's local time zone.
const at = (d: number, h: number, m = 0) => new Date(2024, 0, d, h, m).getTime();
const fmt = (t: number) => {
  const d = new Date(t);
  return `${d.getDate()} ${String(d.getHours()).padStart(2, "0")}:${
    String(d.getMinutes()).padStart(2, "0")
  }`;
};

function job(name: string, schedule: string | undefined, jitterMs = 0): JobDefinition {
  return {
    name,
    repository: "r",
    paths: ["/x"],
    exclude: [],
    excludeIfPresent: [],
    oneFileSystem: false,
    schedule,
    jitterMs,
    tags: [],
    before: [],
    after: [],
  };
}

interface Harness {
  agent: Agent;
  clock: FakeClock;
  starts: { job: string; at: number }[];
  records: RunRecord[];
  aborted: string[];
  maxConcurrent: () => number;
}

/** An agent on a fake clock whose runs take `duration(job)` of virtual time. */
function harness(
  jobs: JobDefinition[],
  opts: {
    start: number;
    lastStart?: Record<string, number>;
    duration?: (job: string) => number;
    random?: () => number;
  } & Partial<AgentOptions>,
): Harness {
  const clock = new FakeClock(opts.start);
  const starts: Harness["starts"] = [];
  const records: RunRecord[] = [];
  const aborted: string[] = [];
  let active = 0;
  let max = 0;
  const agent = new Agent({
    jobs,
    clock,
    random: opts.random ?? (() => 0),
    log: () => {},
    maxSleepMs: 6 * HOUR, // fewer idle wake-ups keep multi-day tests fast
    history: { lastStart: (name) => Promise.resolve(opts.lastStart?.[name]) },
    onRun: (r) => void records.push(r),
    runJob: async (j, { signal }) => {
      starts.push({ job: j.name, at: clock.now() });
      active++;
      max = Math.max(max, active);
      try {
        await clock.sleep(opts.duration?.(j.name) ?? MIN, signal);
        return { result: "success", snapshot: `snap-${starts.length}` };
      } catch (e) {
        aborted.push(j.name);
        throw e;
      } finally {
        active--;
      }
    },
  });
  return { agent, clock, starts, records, aborted, maxConcurrent: () => max };
}

async function runUntil(h: Harness, end: number) {
  h.clock.at(end, () => h.agent.stop());
  await h.agent.run();
}

Deno.test("Agent runs a job at its cron times in local time", async () => {
  const h = harness([job("etc", "0 2 * * *")], {
    start: at(1, 0),
    lastStart: { etc: at(0, 2) }, // ran on the day before: nothing missed
  });
  await runUntil(h, at(4, 0));
  assertEquals(h.starts.map((s) => fmt(s.at)), ["1 02:00", "2 02:00", "3 02:00"]);
  assertEquals(h.records.map((r) => r.nextRun && fmt(r.nextRun)), [
    "2 02:00",
    "3 02:00",
    "4 02:00",
  ]);
  assertEquals(h.records[0].result, { result: "success", snapshot: "snap-1" });
});

Deno.test("Agent delays each start by a jitter within [0, jitter)", async () => {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const h = harness([job("etc", "0 * * * *", 15 * MIN)], {
    start: at(1, 0, 30),
    lastStart: { etc: at(1, 0, 5) },
    random,
  });
  await runUntil(h, at(3, 0, 30));
  assertEquals(h.starts.length, 48);
  const offsets = h.starts.map((s) => s.at - new Date(s.at).setMinutes(0, 0, 0));
  assert(offsets.every((o) => o >= 0 && o < 15 * MIN), `offsets out of range: ${offsets}`);
  assert(new Set(offsets).size > 40, "jitter should vary between runs");

  const top = harness([job("etc", "0 2 * * *", 15 * MIN)], {
    start: at(1, 0),
    lastStart: { etc: at(0, 2) },
    random: () => 0.9999999999,
  });
  await runUntil(top, at(2, 0));
  assertEquals(top.starts.map((s) => s.at - at(1, 2)), [15 * MIN - 1]);
});

Deno.test("Agent never overlaps runs and skips slots that pass during a run", async () => {
  const h = harness([job("a", "*/5 * * * *"), job("b", "*/5 * * * *")], {
    start: at(1, 0, 1),
    lastStart: { a: at(1, 0, 0), b: at(1, 0, 0) },
    duration: () => 7 * MIN,
  });
  await runUntil(h, at(1, 1, 0));
  assertEquals(h.maxConcurrent(), 1);
  // a at 00:05 (until 00:12), b queued behind it (until 00:19); each then waits for its next slot.
  assertEquals(h.starts.slice(0, 4).map((s) => `${s.job} ${fmt(s.at)}`), [
    "a 1 00:05",
    "b 1 00:12",
    "a 1 00:19",
    "b 1 00:26",
  ]);
  for (let i = 1; i < h.records.length; i++) {
    assert(h.records[i].start >= h.records[i - 1].end, "a run started before the previous ended");
  }
});

Deno.test("Agent catches up a missed run once at start, not once per missed slot", async () => {
  const h = harness([job("etc", "0 2 * * *")], {
    start: at(5, 10),
    lastStart: { etc: at(1, 2) }, // the machine was off for three slots
  });
  await runUntil(h, at(6, 12));
  assertEquals(h.starts.map((s) => fmt(s.at)), ["5 10:00", "6 02:00"]);
});

Deno.test("Agent runs a job that has never run at once, and ignores unscheduled jobs", async () => {
  const h = harness([job("new", "0 2 * * *"), job("manual", undefined)], { start: at(5, 10) });
  await runUntil(h, at(5, 23));
  assertEquals(h.starts.map((s) => `${s.job} ${fmt(s.at)}`), ["new 5 10:00"]);
  assertEquals(h.agent.plannedRuns().map((p) => `${p.job} ${fmt(p.at)}`), ["new 6 02:00"]);
});

Deno.test("Agent.reload() swaps schedules without interrupting the running job", async () => {
  const h = harness([job("a", "0 2 * * *"), job("gone", "0 3 * * *")], {
    start: at(1, 1),
    lastStart: { a: at(0, 2), gone: at(0, 3), added: at(1, 0) },
    duration: (name) => name === "a" ? HOUR : MIN,
  });
  // Reload in the middle of a's 02:00 run.
  h.clock.at(
    at(1, 2, 30),
    () => h.agent.reload([job("a", "0 4 * * *"), job("added", "30 5 * * *")]),
  );
  await runUntil(h, at(2, 6));
  assertEquals(h.aborted, []);
  assertEquals(h.starts.map((s) => `${s.job} ${fmt(s.at)}`), [
    "a 1 02:00", // finished normally at 03:00 although the reload came at 02:30
    "a 1 04:00",
    "added 1 05:30",
    "a 2 04:00",
    "added 2 05:30",
  ]);
});

Deno.test("Agent.reload() keeps the planned start of an unchanged job", async () => {
  const h = harness([job("a", "0 2 * * *", 30 * MIN)], {
    start: at(1, 0),
    lastStart: { a: at(0, 2) },
    random: () => 0.5,
  });
  h.clock.at(
    at(1, 1),
    () => h.agent.reload([job("a", "0 2 * * *", 30 * MIN), job("b", undefined)]),
  );
  await runUntil(h, at(1, 3));
  assertEquals(h.starts.map((s) => fmt(s.at)), ["1 02:15"]);
});

Deno.test("Agent.stop() aborts the running job and resolves after it returned", async () => {
  const h = harness([job("slow", "0 2 * * *")], {
    start: at(1, 1),
    lastStart: { slow: at(0, 2) },
    duration: () => 10 * HOUR,
  });
  let stopped: Promise<number> | undefined;
  h.clock.at(at(1, 3), () => {
    // What the agent had finished when stop() resolved.
    stopped = h.agent.stop().then(() => h.records.length);
  });
  await h.agent.run();
  assertEquals(await stopped, 1);
  assertEquals(h.aborted, ["slow"]);
  assertEquals(h.records.map((r) => [r.result.result, fmt(r.end)]), [["failed", "1 03:00"]]);
});

Deno.test("Agent.run() stops when its signal is aborted", async () => {
  const h = harness([job("a", "0 2 * * *")], { start: at(1, 0), lastStart: { a: at(0, 2) } });
  const controller = new AbortController();
  h.clock.at(at(1, 12), () => controller.abort());
  await h.agent.run({ signal: controller.signal });
  assertEquals(h.starts.map((s) => fmt(s.at)), ["1 02:00"]);
});

/** `p`, or a rejection after `ms` of real time: a test fails instead of hanging. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("Agent.run() with a signal aborted before it started stops at once, running nothing", async () => {
  // A SIGTERM that arrives while `cairn agent` is still starting: it used to be lost.
  const h = harness([job("a", "0 2 * * *")], { start: at(1, 0) });
  await within(h.agent.run({ signal: AbortSignal.abort() }), 5000, "run()");
  assertEquals(h.starts, []);
});

Deno.test("Agent.runOnce() with a signal aborted before it started runs nothing", async () => {
  const h = harness([job("never", "0 2 * * *")], { start: at(1, 0) });
  const records = await within(h.agent.runOnce({ signal: AbortSignal.abort() }), 5000, "runOnce()");
  assertEquals([records, h.starts], [[], []]);
});

Deno.test("Agent.runOnce() runs what is due now, without jitter, and returns the results", async () => {
  const h = harness(
    [
      job("never", "0 2 * * *", HOUR),
      job("missed", "0 2 * * *", HOUR),
      job("fresh", "0 2 * * *"),
      job("manual", undefined),
    ],
    { start: at(5, 10), lastStart: { missed: at(3, 2), fresh: at(5, 2) } },
  );
  const records = await h.agent.runOnce();
  assertEquals(records.map((r) => [r.job, fmt(r.start), r.result.result]), [
    ["never", "5 10:00", "success"],
    ["missed", "5 10:01", "success"],
  ]);
});

Deno.test("Agent records a throwing runJob as a failed run and keeps going", async () => {
  const clock = new FakeClock(at(1, 0));
  const records: RunRecord[] = [];
  const agent = new Agent({
    jobs: [job("bad", "0 * * * *")],
    clock,
    log: () => {},
    history: { lastStart: () => Promise.resolve(at(0, 23, 30)) },
    onRun: (r) => void records.push(r),
    runJob: () => Promise.reject(new Error("repository is locked")),
  });
  clock.at(at(1, 2, 30), () => agent.stop());
  await agent.run();
  assertEquals(records.map((r) => [fmt(r.start), r.result]), [
    ["1 00:00", { result: "failed", error: "repository is locked" }],
    ["1 01:00", { result: "failed", error: "repository is locked" }],
    ["1 02:00", { result: "failed", error: "repository is locked" }],
  ]);
});

Deno.test("FakeClock advances virtual time only", async () => {
  const clock = new FakeClock(1000);
  const t0 = Date.now();
  await clock.sleep(DAY);
  assertEquals(clock.now(), 1000 + DAY);
  assert(Date.now() - t0 < 1000);
});
