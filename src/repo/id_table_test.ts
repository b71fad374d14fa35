import fc from "fast-check";
import { toHex } from "../crypto/mod.ts";
import { assertEquals } from "../testing/asserts.ts";
import { IdTable } from "./id_table.ts";

Deno.test("IdTable behaves as a set with insertion-order rows, through rehashes", () => {
  // Short ids padded with a fixed tail collide in their hash bytes often,
  // which exercises probing; random ones exercise growth.
  const id = fc.oneof(
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    fc.integer({ min: 0, max: 50 }).map((n) => {
      const b = new Uint8Array(32).fill(7);
      b[31] = n;
      return b;
    }),
  );
  fc.assert(
    fc.property(fc.array(id, { maxLength: 3000 }), (ids) => {
      const table = new IdTable();
      const model = new Map<string, number>();
      for (const x of ids) {
        const hex = toHex(x);
        if (!model.has(hex)) model.set(hex, model.size);
        assertEquals(table.add(x), model.get(hex));
      }
      assertEquals(table.size, model.size);
      for (const [hex, row] of model) assertEquals(toHex(table.idAt(row)), hex);
      for (const x of ids) assertEquals(table.find(x), model.get(toHex(x)));
      assertEquals(table.find(new Uint8Array(32).fill(9)), model.get("09".repeat(32)) ?? -1);
      const sorted = [...table.sortedRows()].map((r) => toHex(table.idAt(r)));
      assertEquals(sorted, [...model.keys()].sort());
    }),
    { numRuns: 30 },
  );
});
