import { join } from "node:path";
import {
  FakeClock,
  type JobConfig,
  type JobDefinition,
  parseJobConfig,
  type RunResult,
  StatusStore,
} from "../job/mod.ts";
import type { FlushResult, GoodDocument, Heartbeat, PollResult, RunReport } from "../remote/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import {
  Fleet,
  type HeartbeatSink,
  type JobDocumentSource,
  nothingDue,
  type ReportSink,
} from "./fleet.ts";
import { toReport } from "./to_report.ts";

const START = Date.UTC(2024, 0, 10, 12);
const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const SNAPSHOT = "ab".repeat(32);

/**
 * A bootstrap file with one local job "local" and `[remote]` allowing `/srv`;
 * `repositoryLines` go into `[repository.main]`'s part of the file.
 */
function bootConfig(stateDir: string, repositoryLines: string[] = []): JobConfig {
  return parseJobConfig(
    [
      `state_dir = "${stateDir}"`,
      "[remote]",
      `url = "https://fleet.example/{host}.toml"`,
      `public_key = "${KEY}"`,
      "[remote.allow]",
      `repositories = ["main"]`,
      `paths = ["/srv"]`,
      "[repository.main]",
      `path = "/backups/main"`,
      `password_env = "PW"`,
      ...repositoryLines,
      "[[job]]",
      `name = "local"`,
      `repository = "main"`,
      `paths = ["/etc"]`,
      `schedule = "@daily"`,
    ].join("\n"),
    "boot.toml",
    { env: {} },
  );
}

/** A remote document (as the fetcher hands it over) with jobs `names`. */
function document(boot: JobConfig, version: number, names: string[]): GoodDocument<JobConfig> {
  const text = [
    `version = ${version}`,
    `expires = ${new Date(START + 86_400_000).toISOString()}`,
    `report_url = "https://fleet.example/reports"`,
    ...names.flatMap((n) => [
      "[[job]]",
      `name = "${n}"`,
      `repository = "main"`,
      `paths = ["/srv/${n}"]`,
      `schedule = "@daily"`,
    ]),
  ].join("\n");
  const config = parseJobConfig(text, "remote", {
    remote: true,
    repositories: boot.repositories,
  });
  return { config, version, expires: config.expires!, expired: false, fetchedAt: new Date(START) };
}

/** A document source that answers each poll with the next of `answers` (the last one repeats). */
function fakeSource(answers: (PollResult<JobConfig> | Error)[]) {
  const source = {
    polls: 0,
    closed: false,
    poll(): Promise<PollResult<JobConfig>> {
      const a = answers[Math.min(source.polls++, answers.length - 1)];
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
    close() {
      source.closed = true;
    },
  };
  return source satisfies JobDocumentSource;
}

function fakeReports() {
  const sink = {
    sent: [] as { url: string; report: RunReport }[],
    flushes: 0,
    send(url: string, report: RunReport) {
      sink.sent.push({ url, report });
      return Promise.resolve("sent" as const);
    },
    flush(): Promise<FlushResult> {
      sink.flushes++;
      return Promise.resolve({ sent: 0, dropped: 0, remaining: 0, deferred: false });
    },
    close() {},
  };
  return sink satisfies ReportSink;
}

interface Ran {
  job: string;
  maintenance?: JobDefinition["maintenance"];
  config: JobConfig;
  remoteAllowPaths?: readonly string[];
}

/** A fleet on a fake clock whose runs are recorded and end in `result`. */
async function harness(
  answers: (PollResult<JobConfig> | Error)[],
  opts: {
    result?: RunResult;
    stateDir?: string;
    repositoryLines?: string[];
    start?: number;
    heartbeats?: HeartbeatSink;
  } = {},
) {
  const dir = await Deno.makeTempDir({ prefix: "cairn-fleet-" });
  const boot = bootConfig(opts.stateDir ?? join(dir, "state"), opts.repositoryLines);
  const ran: Ran[] = [];
  const logs: string[] = [];
  const source = fakeSource(answers);
  const reports = fakeReports();
  const clock = new FakeClock(opts.start ?? START);
  const fleet = new Fleet({
    boot,
    env: {},
    log: (line) => logs.push(line),
    runJob: (config, job: JobDefinition, { remoteAllowPaths }) => {
      ran.push({ job: job.name, maintenance: job.maintenance, config, remoteAllowPaths });
      return Promise.resolve(
        opts.result ?? { result: "success", snapshot: SNAPSHOT, files: 3, bytesAdded: 10 },
      );
    },
    source,
    reports,
    ...(opts.heartbeats ? { heartbeats: opts.heartbeats } : {}),
    clock,
    random: () => 0,
    host: "web1",
  });
  return {
    dir,
    boot,
    fleet,
    ran,
    logs,
    source,
    reports,
    async [Symbol.asyncDispose]() {
      fleet.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("Fleet.once() runs local and remote jobs, leaving out a remote job named like a local one", async () => {
  const boot = bootConfig("/unused");
  await using t = await harness([
    { status: "updated", current: document(boot, 3, ["www", "local"]) },
  ]);
  const records = await t.fleet.once(new AbortController().signal);

  assertEquals(records.map((r) => r.job), ["local", "www"]);
  assertEquals(t.ran.map((r) => [r.job, r.remoteAllowPaths]), [
    ["local", undefined],
    ["www", ["/srv"]],
  ]);
  assert(t.logs.includes(`remote job "local" ignored: a local job has that name`), t.logs.join());
  assert(t.logs.includes("remote jobs: accepted version 3"));
  // A remote job runs with the bootstrap file's repositories and state dir.
  const www = t.ran[1].config;
  assertEquals(www.repositories.main, t.boot.repositories.main);
  assertEquals(www.stateDir, t.boot.stateDir);
  assertEquals(t.ran[0].config, t.boot);
});

Deno.test("Fleet.once() reports remote runs only, and records every run in the status store", async () => {
  const boot = bootConfig("/unused");
  await using t = await harness([{ status: "updated", current: document(boot, 1, ["www"]) }]);
  await t.fleet.once(new AbortController().signal);

  assertEquals(t.reports.sent.length, 1);
  const { url, report } = t.reports.sent[0];
  assertEquals(url, "https://fleet.example/reports");
  assertEquals(report, {
    host: "web1",
    job: "www",
    start: new Date(START).toISOString(),
    end: new Date(START).toISOString(),
    result: "success",
    snapshot: SNAPSHOT,
    files: 3,
    bytes: 10,
    error: null,
  });
  assert(t.reports.flushes >= 1, "queued reports are flushed before --once exits");
  const status = await new StatusStore(t.boot.stateDir).readAll(["local", "www"]);
  assertEquals(status.map((s) => [s.job, s.result]), [["local", "success"], [
    "www",
    "success",
  ]]);
});

Deno.test("Fleet.once() keeps the local jobs when the document is rejected or the poll throws", async () => {
  for (
    const answer of [
      { status: "rejected" as const, reason: "bad signature" },
      new Error("boom"),
    ]
  ) {
    await using t = await harness([answer]);
    const records = await t.fleet.once(new AbortController().signal);
    assertEquals(records.map((r) => r.job), ["local"]);
    assertEquals(t.reports.sent, []);
    if (answer instanceof Error) assert(t.logs.includes("remote jobs: poll failed: boom"));
  }
});

Deno.test("Fleet.once() sends a run's report even when the status file cannot be written", async () => {
  const boot = bootConfig("/unused");
  const dir = await Deno.makeTempDir({ prefix: "cairn-fleet-blocked-" });
  const blocked = join(dir, "not-a-dir");
  await Deno.writeTextFile(blocked, "a file where the state dir should be");
  try {
    await using t = await harness(
      [{ status: "updated", current: document(boot, 1, ["www"]) }],
      { stateDir: blocked, result: { result: "failed", error: "x".repeat(5000) } },
    );
    const records = await t.fleet.once(new AbortController().signal);
    assertEquals(records.map((r) => r.result.result), ["failed", "failed"]);
    assertEquals(t.reports.sent.map((s) => [s.report.job, s.report.result]), [["www", "failed"]]);
    assertEquals(t.reports.sent[0].report.error!.length, 4096);
    assert(t.logs.some((l) => l.includes('job "www": report sent')), t.logs.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Fleet.once() runs a repository's scheduled prune and check as jobs, each on its own schedule", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "cairn-fleet-maint-" });
  const repositoryLines = [
    "[repository.main.prune]",
    `schedule = "@weekly"`, // Sundays 00:00, local time
    `grace = "2h"`,
    "max_unused = 5",
    "[repository.main.check]",
    `schedule = "@daily"`,
    `read_data_subset = "1/4"`,
  ];
  const once = async (start: number) => {
    await using t = await harness([{ status: "rejected", reason: "none yet" }], {
      stateDir,
      repositoryLines,
      start,
    });
    const records = await t.fleet.once(new AbortController().signal);
    return { records, ran: t.ran };
  };
  try {
    // Never ran: everything is due, the backup first, then the repository's tasks.
    const first = await once(START);
    assertEquals(first.ran.map((r) => [r.job, r.maintenance]), [
      ["local", undefined],
      ["main.prune", { task: "prune", graceMs: 2 * 3600_000, maxUnusedFraction: 0.05 }],
      ["main.check", { task: "check", readDataSubset: "1/4" }],
    ]);
    // They run with the repository of the bootstrap file, like its jobs.
    assertEquals(first.ran[1].config, first.ran[0].config);
    const status = await new StatusStore(stateDir).readAll(["main.prune", "main.check"]);
    assertEquals(status.map((s) => s.result), ["success", "success"]);
    assert(status.every((s) => s.nextRun !== undefined), JSON.stringify(status));

    // The same day: nothing is due again.
    assertEquals((await once(START + 3600_000)).ran, []);
    // START is a Wednesday noon (UTC; the same local day in any time zone from -11 to +11 h):
    // a day later the daily check and backup are due, the weekly prune not before Sunday.
    const nextDay = START + 24 * 3600_000;
    assertEquals((await once(nextDay)).ran.map((r) => r.job), ["local", "main.check"]);
    const sunday = START + 4 * 24 * 3600_000;
    assertEquals((await once(sunday)).ran.map((r) => r.job), ["local", "main.prune", "main.check"]);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("Fleet.close() closes the document source", async () => {
  await using t = await harness([{ status: "rejected", reason: "none yet" }]);
  t.fleet.close();
  assert(t.source.closed);
});

Deno.test("toReport() maps skipped and failed runs to failed and fills missing counts", () => {
  const record = { job: "j", start: START, end: START + 1000 };
  assertEquals(toReport("h", { ...record, result: { result: "skipped", error: "before" } }), {
    host: "h",
    job: "j",
    start: new Date(START).toISOString(),
    end: new Date(START + 1000).toISOString(),
    result: "failed",
    snapshot: null,
    files: 0,
    bytes: 0,
    error: "before",
  });
  assertEquals(toReport("h", { ...record, result: { result: "partial" } }).result, "partial");
});

Deno.test("nothingDue() names the next planned start, or says no job has a schedule", () => {
  assertEquals(nothingDue([]), "nothing was due: no job has a schedule");
  assertEquals(nothingDue([{ job: "a", at: Infinity }]), "nothing was due: no job has a schedule");
  assertEquals(
    nothingDue([{ job: "a", at: Infinity }, { job: "b", at: START }]),
    `nothing was due; next: job "b" at ${new Date(START).toISOString()}`,
  );
});

Deno.test("Fleet.once() sends a heartbeat after its runs, with each job's next planned start", async () => {
  const sent: Heartbeat[] = [];
  const heartbeats: HeartbeatSink = {
    send(hb) {
      sent.push(hb);
      return Promise.resolve();
    },
    close() {},
  };
  const boot = bootConfig("/unused");
  await using t = await harness([{ status: "updated", current: document(boot, 1, ["db"]) }], {
    heartbeats,
  });
  await t.fleet.once(new AbortController().signal);
  assertEquals(sent.length, 1, "one heartbeat per --once");
  const hb = sent[0];
  assertEquals(hb.host, "web1");
  assertEquals(hb.running, null);
  const db = hb.jobs?.find((j) => j.job === "db");
  assert(db, "the remote job is in the heartbeat");
  assertEquals(db.schedule, "@daily");
  assertEquals(db.next_runs.length, 2);
  assert(Date.parse(db.next_runs[0]) > START, "the next start lies after the run");
});

Deno.test("Fleet.daemon() with a signal aborted before it started returns, running nothing", async () => {
  // `cairn agent` killed while still starting: the SIGTERM used to be lost and the daemon ran on.
  const boot = bootConfig("/unused");
  await using t = await harness([{ status: "updated", current: document(boot, 1, ["db"]) }]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((r) => (timer = setTimeout(() => r("still running"), 5000)));
  const daemon = t.fleet.daemon(join(t.dir, "cairn.toml"), AbortSignal.abort()).then(() => "done");
  assertEquals(await Promise.race([daemon, late]), "done");
  clearTimeout(timer);
  assertEquals(t.ran, []);
  assert(t.logs.includes("agent stopped"), t.logs.join("\n"));
});
