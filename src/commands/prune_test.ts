import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { UsageError } from "../cli/mod.ts";
import { parseGrace } from "./prune.ts";

Deno.test("prune --grace reads durations as job files do, compound and weekly ones included", () => {
  assertEquals(parseGrace("0"), 0);
  assertEquals(parseGrace("90s"), 90_000);
  assertEquals(parseGrace("1h30m"), 5_400_000);
  assertEquals(parseGrace("1w"), 7 * 86_400_000);
});

Deno.test("prune --grace refuses what is not a duration with a usage error naming the flag", () => {
  for (const bad of ["90", "5x", "-1h", "", "1h 30m"]) {
    const err = assertThrows(() => parseGrace(bad), UsageError);
    assertEquals(err.message, `--grace takes a duration like 90s, 15m, 1h30m or 0, not "${bad}"`);
  }
});
