import { assertEquals } from "../testing/asserts.ts";
import { ClaimTable } from "./_claims.ts";

function id(n: number): Uint8Array {
  const out = new Uint8Array(32);
  new DataView(out.buffer).setUint32(0, Math.imul(n, 0x9e3779b1) >>> 0);
  out[31] = n & 0xff;
  return out;
}

Deno.test("ClaimTable: the first claim of an id wins, a view of the same buffer sees it", () => {
  const a = ClaimTable.create(16);
  const b = new ClaimTable(a.buffer);
  assertEquals(a.claim(id(1)), true);
  assertEquals(b.claim(id(1)), false);
  assertEquals(a.claim(id(1)), false);
  assertEquals(b.claim(id(2)), true);
  // Same first bytes (the same slot), another id: both are claimed.
  const twin = id(2);
  twin[31] ^= 1;
  assertEquals(a.claim(twin), true);
  assertEquals(b.claim(twin), false);
});

Deno.test("ClaimTable: three quarters full, a new id gets no answer and a claimed one still does", () => {
  const t = ClaimTable.create(16);
  for (let n = 0; n < 12; n++) assertEquals(t.claim(id(n)), true, `id ${n}`);
  assertEquals(t.claim(id(12)), undefined, "full: the caller must store the blob itself");
  assertEquals(t.claim(id(3)), false);
});
