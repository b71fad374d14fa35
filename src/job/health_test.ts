import { assertEquals } from "../testing/asserts.ts";
import { healthExitCode, jobHealth } from "./status.ts";

const H = 3_600_000;
const T = Date.parse("2026-03-02T10:00:00Z");

Deno.test("jobHealth() is the last result, or overdue once two slots have passed", () => {
  const at = (result: "success" | "partial" | "failed", startedHoursAgo: number) => ({
    job: "j",
    lastStart: new Date(T - startedHoursAgo * H).toISOString(),
    result,
  });
  assertEquals(jobHealth({ job: "j" }, "@hourly", T), "never");
  assertEquals(jobHealth(at("success", 0.5), "@hourly", T), "ok");
  assertEquals(jobHealth(at("partial", 0.5), "@hourly", T), "partial");
  assertEquals(jobHealth(at("failed", 0.5), "@hourly", T), "failed");
  // Started 1.5 h ago: one hourly slot missed, which jitter or a long run explains.
  assertEquals(jobHealth(at("success", 1.5), "@hourly", T), "ok");
  // 2.5 h ago: two slots passed with no start.
  assertEquals(jobHealth(at("success", 2.5), "@hourly", T), "overdue");
  assertEquals(jobHealth(at("success", 30), "@daily", T), "ok");
  assertEquals(jobHealth(at("success", 50), "@daily", T), "overdue");
  // A job only run by hand is never overdue.
  assertEquals(jobHealth(at("success", 5000), null, T), "ok");
});

Deno.test("healthExitCode() is 1 for a failed or overdue job, else 3 for a partial one", () => {
  assertEquals(healthExitCode([]), 0);
  assertEquals(healthExitCode(["ok", "never"]), 0);
  assertEquals(healthExitCode(["ok", "partial"]), 3);
  assertEquals(healthExitCode(["partial", "failed"]), 1);
  assertEquals(healthExitCode(["overdue", "ok"]), 1);
});
