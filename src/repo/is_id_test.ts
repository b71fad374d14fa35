import { assert } from "../testing/asserts.ts";
import { isId } from "./format.ts";

Deno.test("isId() takes exactly 64 lowercase hex digits", () => {
  const good = "0123456789abcdef".repeat(4);
  assert(isId(good));
  assert(isId("f".repeat(64)));
  assert(!isId(good.slice(1)));
  assert(!isId(good + "0"));
  assert(!isId(undefined));
  assert(!isId(64));
  // Each position, each kind of near miss: uppercase, the characters either side of the ranges, non-ASCII.
  for (const bad of ["A", "F", "g", "/", ":", "`", "G", " ", "\u00e9", "\u0130", "\u{1F600}"]) {
    for (const at of [0, 31, 63]) {
      const s = good.slice(0, at) + bad + good.slice(at + 1);
      assert(!isId(s.length === 64 ? s : s.slice(0, 64)), `${JSON.stringify(bad)} at ${at}`);
    }
  }
});
