import { formatDuration, parseDuration } from "./duration.ts";
import { assertEquals, assertThrows } from "../testing/asserts.ts";

Deno.test("parseDuration() reads single and combined units", () => {
  assertEquals(parseDuration("90s"), 90_000);
  assertEquals(parseDuration("15m"), 900_000);
  assertEquals(parseDuration("2h"), 7_200_000);
  assertEquals(parseDuration("1d"), 86_400_000);
  assertEquals(parseDuration("1w"), 604_800_000);
  assertEquals(parseDuration("1h30m"), 5_400_000);
  assertEquals(parseDuration("250ms"), 250);
  assertEquals(parseDuration("1.5h"), 5_400_000);
  assertEquals(parseDuration("0"), 0);
});

Deno.test("parseDuration() rejects anything else with a RangeError", () => {
  for (const bad of ["", "15", "15 m", "1y", "1mo", "-5m", "m", "1h 30m", "1h30"]) {
    const e = assertThrows(() => parseDuration(bad));
    assertEquals(e instanceof RangeError, true, `"${bad}" should be rejected`);
  }
});

Deno.test("formatDuration() is the inverse of parseDuration() for whole seconds", () => {
  for (const s of ["1h30m", "45s", "2d3h", "1d1h1m1s"]) {
    assertEquals(formatDuration(parseDuration(s)), s);
  }
  assertEquals(formatDuration(0), "0s");
});
