import { deriveFileKey, keyedId, toHex, utf8 } from "../crypto/mod.ts";
import { assert, assertEquals, assertRejects, assertThrows } from "../testing/asserts.ts";
import {
  encodeSegment,
  extractBlob,
  forEachBlob,
  MAX_SEGMENT_PLAIN,
  openSegment,
  type PackedMember,
  sealSegment,
} from "./blob_codec.ts";
import { CorruptError, FLAG_RAW, FLAG_ZSTD } from "./format.ts";

const idKey = new Uint8Array(32).fill(3);
const key = await deriveFileKey(new Uint8Array(32).fill(1), new Uint8Array(16), "pack");

function member(bytes: Uint8Array, at: number): PackedMember {
  return {
    type: "data",
    id: toHex(keyedId(idKey, bytes)),
    at,
    rawLength: bytes.length,
    offset: 0,
    length: 0,
  };
}

Deno.test("encodeSegment() compresses what shrinks and keeps the rest raw", () => {
  const text = utf8("all work and no play ".repeat(100));
  assertEquals(encodeSegment(text, 1)[0], FLAG_ZSTD);
  assert(encodeSegment(text, 1).length < text.length / 10);
  assertEquals(encodeSegment(text, 0)[0], FLAG_RAW);
  assertEquals(encodeSegment(utf8("tiny"), 3), new Uint8Array([FLAG_RAW, ...utf8("tiny")]));
});

Deno.test("a sealed segment opens only as its own type at its own offset", async () => {
  const plain = utf8("segment body ".repeat(50));
  const sealed = await sealSegment(key, "data", 40, encodeSegment(plain, 1));
  assertEquals(await openSegment(key, "data", 40, sealed, "seg"), plain);
  await assertRejects(() => openSegment(key, "data", 41, sealed, "seg"), CorruptError, "seg");
  await assertRejects(() => openSegment(key, "tree", 40, sealed, "seg"), CorruptError, "seg");
});

Deno.test("extractBlob() returns a member only if it hashes to its id", () => {
  const a = utf8("first"), b = utf8("second");
  const segment = new Uint8Array([...a, ...b]);
  assertEquals(extractBlob(idKey, segment, member(b, a.length)), b);
  const wrongPlace = { ...member(b, 0) };
  assertThrows(() => extractBlob(idKey, segment, wrongPlace), CorruptError, "does not match");
  const pastEnd = { ...member(b, a.length + 1) };
  assertThrows(() => extractBlob(idKey, segment, pastEnd), CorruptError, "ends before");
});

Deno.test("openSegment() refuses a segment that inflates past the bound", async () => {
  // Zeros past the bound compress to a few KiB; the reader must not inflate them.
  const bound = 1024 * 1024;
  const bomb = encodeSegment(new Uint8Array(bound + 1), 1);
  const sealed = await sealSegment(key, "data", 0, bomb);
  await assertRejects(
    () => openSegment(key, "data", 0, sealed, "bomb", bound),
    CorruptError,
    "bomb",
  );
  assertEquals((await openSegment(key, "data", 0, sealed, "bomb", bound + 1)).length, bound + 1);
  assert(MAX_SEGMENT_PLAIN >= 1024 * 1024 * 1024, "trees of huge directories must fit");
});

Deno.test("forEachBlob() opens each segment once and fails all of a damaged one", async () => {
  const blobs = [utf8("one"), utf8("two"), utf8("three")];
  const first = await sealSegment(key, "data", 8, encodeSegment(utf8("onetwo"), 0));
  const second = await sealSegment(key, "data", 8 + first.length, encodeSegment(blobs[2], 0));
  const pack = new Uint8Array([...new Uint8Array(8), ...first, ...second]);
  const place = (m: PackedMember, offset: number, length: number) => ({ ...m, offset, length });
  const members = [
    place(member(blobs[0], 0), 8, first.length),
    place(member(blobs[1], 3), 8, first.length),
    place(member(blobs[2], 0), 8 + first.length, second.length),
  ];
  const seen: (string | Uint8Array)[] = [];
  const visit = (_: PackedMember, p: Uint8Array | Error) =>
    void seen.push(p instanceof Error ? p.message : p);
  await forEachBlob(key, idKey, pack, members, visit);
  assertEquals(seen, blobs);

  pack[8 + 14] ^= 1; // inside the first segment's ciphertext
  seen.length = 0;
  await forEachBlob(key, idKey, pack, members, visit);
  assert(String(seen[0]).includes("authentication failed"), String(seen[0]));
  assertEquals(seen[1], seen[0]);
  assertEquals(seen[2], blobs[2]);
});
