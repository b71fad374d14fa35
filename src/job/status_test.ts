import { applyRun, StatusStore } from "./status.ts";
import { renderMetrics, writeMetrics } from "./metrics.ts";
import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";

const T = Date.UTC(2024, 0, 1, 2, 0);

Deno.test("StatusStore round-trips records and keeps the last success across failures", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new StatusStore(dir);
    assertEquals(await store.read("etc"), undefined);
    assertEquals(await store.lastStart("etc"), undefined);
    await store.recordRun({
      job: "etc",
      start: T,
      end: T + 90_000,
      result: { result: "success", snapshot: "ab12", files: 10, bytesAdded: 2048 },
      nextRun: T + 86_400_000,
    });
    const failed = await store.recordRun({
      job: "etc",
      start: T + 86_400_000,
      end: T + 86_460_000,
      result: { result: "failed", error: "disk full" },
    });
    assertEquals(failed, {
      job: "etc",
      lastStart: "2024-01-02T02:00:00.000Z",
      lastEnd: "2024-01-02T02:01:00.000Z",
      result: "failed",
      error: "disk full",
      lastSuccess: "2024-01-01T02:01:30.000Z",
    });
    assertEquals(await store.read("etc"), failed);
    assertEquals(await store.lastStart("etc"), T + 86_400_000);
    assertEquals(await store.readAll(["etc", "other"]), [failed, { job: "other" }]);
    const files = [...Deno.readDirSync(`${dir}/jobs`)].map((e) => e.name);
    assertEquals(files, ["etc.json"]); // no temp files left behind
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("StatusStore rejects job names that would escape the state directory", async () => {
  // A real, writable state directory with bait where an escaping name would
  // land, so nothing but the name check can make these calls fail.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/jobs`);
    await Deno.writeTextFile(`${dir}/x.json`, JSON.stringify({ job: "x" }));
    const store = new StatusStore(dir);
    for (const job of ["../x", "..", ".", "a/b", ""]) {
      const err = await assertRejects(() => store.read(job), TypeError);
      assertEquals(err.message, `Invalid job name "${job}"`);
    }
    for (const job of ["../escaped", "..", "sub/../../escaped"]) {
      const err = await assertRejects(() => store.write({ job }), TypeError);
      assertEquals(err.message, `Invalid job name "${job}"`);
    }
    const left: string[] = [];
    for await (const e of Deno.readDir(dir)) left.push(e.name);
    assertEquals(left.sort(), ["jobs", "x.json"]);
    assertEquals([...Deno.readDirSync(`${dir}/jobs`)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("renderMetrics() writes one series per job and a 0/1 series per result", () => {
  const record = applyRun(undefined, {
    job: 'we"ird',
    start: T,
    end: T + 30_000,
    result: { result: "success", bytesAdded: 5, files: 3 },
  });
  const text = renderMetrics([record, { job: "never" }]);
  const lines = text.split("\n").filter((l) => l && !l.startsWith("#"));
  assertEquals(lines, [
    `cairn_job_last_success_timestamp_seconds{job="we\\"ird"} ${(T + 30_000) / 1000}`,
    `cairn_job_last_run_timestamp_seconds{job="we\\"ird"} ${(T + 30_000) / 1000}`,
    `cairn_job_last_duration_seconds{job="we\\"ird"} 30`,
    `cairn_job_last_result{job="we\\"ird",result="success"} 1`,
    `cairn_job_last_result{job="we\\"ird",result="partial"} 0`,
    `cairn_job_last_result{job="we\\"ird",result="failed"} 0`,
    `cairn_job_last_result{job="we\\"ird",result="skipped"} 0`,
    `cairn_job_last_bytes_added{job="we\\"ird"} 5`,
    `cairn_job_last_files{job="we\\"ird"} 3`,
  ]);
  assert(text.includes("# TYPE cairn_job_last_result gauge"));
});

Deno.test("writeMetrics() replaces the file atomically", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeMetrics(`${dir}/m/cairn.prom`, [{
      job: "a",
      result: "failed",
      lastEnd: "2024-01-01T00:00:00Z",
    }]);
    const text = await Deno.readTextFile(`${dir}/m/cairn.prom`);
    assert(text.includes(`cairn_job_last_result{job="a",result="failed"} 1`));
    assertEquals([...Deno.readDirSync(`${dir}/m`)].map((e) => e.name), ["cairn.prom"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
