import { assert, assertEquals } from "../testing/asserts.ts";
import { historyChart } from "./_chart.ts";
import type { ReceivedReport } from "./serve.ts";

const NOW = Date.parse("2026-03-10T12:00:00Z");

function run(endAgoH: number, result: string, bytes: number): ReceivedReport {
  const end = NOW - endAgoH * 3600_000;
  return {
    host: "h",
    job: "j",
    start: new Date(end - 60_000).toISOString(),
    end: new Date(end).toISOString(),
    result: result as ReceivedReport["result"],
    snapshot: null,
    files: 0,
    bytes,
    error: null,
    received: new Date(end).toISOString(),
  };
}

Deno.test("historyChart() draws one column a day for five weeks, older runs left out", () => {
  const history = [
    run(40 * 24, "success", 1), // older than five weeks
    run(50, "success", 100),
    run(3, "failed", 0),
    run(2, "success", 2048),
  ];
  const svg = historyChart(history, NOW);
  assertEquals(svg.match(/<g>/g)?.length, 2, svg);
  assert(svg.includes("2 runs (1 not successful), 2.0 KiB added, longest 1 min"), svg);
  assert(svg.includes(`aria-label="3 runs in 5 weeks`), svg);
  // The day with a failure is drawn in the failure colour.
  assert(svg.includes(`fill="#c62828"`), svg);
});
