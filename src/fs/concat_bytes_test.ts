import { assert, assertEquals } from "../testing/asserts.ts";
import { concatBytes } from "./concat_bytes.ts";

Deno.test("concatBytes() joins the parts in order", () => {
  const out = concatBytes([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
  assertEquals(out, new Uint8Array([1, 2, 3]));
  assertEquals(concatBytes([]), new Uint8Array(0));
});

Deno.test("concatBytes() returns a new array, even for one part", () => {
  const part = new Uint8Array([7, 8]);
  const out = concatBytes([part]);
  assert(out !== part && out.buffer !== part.buffer);
  out[0] = 0;
  assertEquals(part[0], 7);
});
