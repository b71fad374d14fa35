import { assert, assertEquals, assertThrows } from "../testing/asserts.ts";
import { CorruptError } from "./format.ts";
import { decodeBlobList, encodeBlobList, MAX_PACK_BYTES } from "./pack.ts";
import { isId } from "./format.ts";

const ID = "0123456789abcdef".repeat(4);

/** The checks decodeBlobList made before it was unrolled (slice + every), as the reference. */
function acceptedBefore(t: unknown): boolean {
  if (!Array.isArray(t) || t.length !== 6 || !/^[0-9a-f]{64}$/.test(String(t[1]))) return false;
  if (typeof t[1] !== "string") return false;
  return t.slice(2).every((n) => Number.isSafeInteger(n) && n >= 0 && n <= MAX_PACK_BYTES) &&
    t[2] + t[3] <= MAX_PACK_BYTES;
}

function accepted(t: unknown): boolean {
  try {
    decodeBlobList([t], "test");
    return true;
  } catch (err) {
    assert(err instanceof CorruptError, String(err));
    return false;
  }
}

Deno.test("decodeBlobList() round-trips encodeBlobList", () => {
  const blobs = [
    { type: "data" as const, id: ID, offset: 36, length: 100, rawLength: 80, at: 0 },
    { type: "tree" as const, id: "f".repeat(64), offset: 136, length: 50, rawLength: 9, at: 80 },
  ];
  assertEquals(decodeBlobList(JSON.parse(JSON.stringify(encodeBlobList(blobs))), "t"), blobs);
});

Deno.test("decodeBlobList() rejects exactly the hostile entries it rejected before", () => {
  const numbers: unknown[] = [
    0,
    1,
    36,
    MAX_PACK_BYTES,
    MAX_PACK_BYTES + 1,
    MAX_PACK_BYTES - 1,
    -1,
    -0,
    1.5,
    2 ** 53,
    Number.MAX_SAFE_INTEGER,
    NaN,
    Infinity,
    "1",
    null,
    undefined,
    true,
    [1],
    {},
  ];
  const valid: unknown[] = [0, 1, 36, 4096, -0, MAX_PACK_BYTES, MAX_PACK_BYTES - 1];
  const ids: unknown[] = [ID, ID.toUpperCase(), ID.slice(1), ID + "0", 5, null, ["x"]];
  let seed = 7;
  const pick = <T>(xs: T[]) => xs[(seed = (seed * 1103515245 + 12345) >>> 0) % xs.length];
  const cases: unknown[] = [null, 5, "x", {}, [], [0, ID, 1, 2, 3], [0, ID, 1, 2, 3, 4, 5]];
  for (let i = 0; i < 5000; i++) {
    const n = () => (pick([0, 1, 2]) ? pick(valid) : pick(numbers));
    cases.push(["d", pick([0, 1, 2, 3]) ? ID : pick(ids), n(), n(), n(), n()]);
  }
  // Offsets and lengths that are each fine but end past the largest pack.
  cases.push(["d", ID, MAX_PACK_BYTES - 10, 11, 0, 0], ["d", ID, MAX_PACK_BYTES - 10, 10, 0, 0]);
  let accepts = 0;
  for (const t of cases) {
    const want = acceptedBefore(t);
    assertEquals(accepted(t), want, JSON.stringify(t));
    if (want) accepts++;
  }
  assert(accepts > 10, "some entries are valid");
  assert(!accepted(["d", ID, MAX_PACK_BYTES - 10, 11, 0, 0]));
  assertThrows(() => decodeBlobList({ length: 1, 0: ["d", ID, 0, 0, 0, 0] }, "t"), CorruptError);
});

Deno.test("isId() agrees with /^[0-9a-f]{64}$/ on random near-misses, any char code", () => {
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  const odd = [
    0,
    47,
    48,
    57,
    58,
    96,
    97,
    102,
    103,
    65,
    70,
    127,
    128,
    255,
    256,
    0x130,
    0xd83d,
    0xffff,
  ];
  for (let i = 0; i < 20000; i++) {
    const chars = [...ID];
    for (let k = next() % 3; k > 0; k--) {
      const code = next() % 2 ? odd[next() % odd.length] : next() % 0x10000;
      chars[next() % 64] = String.fromCharCode(code);
    }
    let s = chars.join("");
    if (next() % 50 === 0) s = s.slice(0, 63);
    assertEquals(isId(s), /^[0-9a-f]{64}$/.test(s), JSON.stringify(s));
  }
});
