import { jitterDelay, parseSchedule } from "./schedule.ts";
import { assertEquals, assertMatch, assertThrows } from "../testing/asserts.ts";

Deno.test("parseSchedule() computes the next firing strictly after a time, in local time", () => {
  const s = parseSchedule("0 2 * * *");
  assertEquals(s.next(new Date(2024, 0, 1, 1, 59).getTime()), new Date(2024, 0, 1, 2, 0).getTime());
  assertEquals(s.next(new Date(2024, 0, 1, 2, 0).getTime()), new Date(2024, 0, 2, 2, 0).getTime());
  const weekly = parseSchedule("30 4 * * 1");
  assertEquals(weekly.next(new Date(2024, 0, 3).getTime()), new Date(2024, 0, 8, 4, 30).getTime());
  assertEquals(
    parseSchedule("@hourly").next(new Date(2024, 0, 1, 5, 10).getTime()),
    new Date(2024, 0, 1, 6).getTime(),
  );
  assertEquals(
    parseSchedule("@midnight").next(new Date(2024, 0, 1, 5).getTime()),
    new Date(2024, 0, 2).getTime(),
  );
});

Deno.test("parseSchedule() refuses wrong field counts, bad values and @reboot", () => {
  for (
    const [expr, why] of [
      ["0 2 * *", /expected 5 fields/],
      ["0 0 2 * * *", /expected 5 fields/],
      ["61 2 * * *", /minute/i],
      ["@reboot", /supported shortcuts/],
      ["0 0 30 2 *", /never fires|invalid/i],
    ] as const
  ) {
    const e = assertThrows(() => parseSchedule(expr)) as Error;
    assertEquals(e instanceof RangeError, true);
    assertMatch(e.message, /^invalid cron expression "/);
    assertMatch(e.message, why);
  }
});

Deno.test("jitterDelay() stays within [0, jitter)", () => {
  assertEquals(jitterDelay(0, () => 0.5), 0);
  assertEquals(jitterDelay(1000, () => 0), 0);
  assertEquals(jitterDelay(1000, () => 0.5), 500);
  assertEquals(jitterDelay(1000, () => 0.9999999999999), 999);
  assertThrows(() => jitterDelay(1000, () => 1));
});
