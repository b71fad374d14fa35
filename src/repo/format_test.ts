/**
 * Known answers from docs/FORMAT.md: each test builds the document's bytes
 * by its own means (src/testing/format_reader.ts shares no code with
 * src/crypto or src/repo) and checks that cairn writes exactly those.
 */
import { MemoryBackend } from "../backend/mod.ts";
import { createKeyFile, deriveFileKey, keyedId, newMasterKey, seal, toHex } from "../crypto/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import {
  ascii,
  docFileKey,
  docName,
  docOpen,
  docOpenKeyFile,
  docOpenSealedJson,
  docReadPack,
  docSegmentAad,
} from "../testing/format_reader.ts";
import { fileAad, PACK_MAGIC, segmentAad } from "./format.ts";
import { backendPackStore, PackWriter } from "./pack.ts";
import { encodeSealedJson } from "./sealed_file.ts";

Deno.test("a pack starts with the 8 bytes CAIRNPK\\x01", () => {
  assertEquals([...PACK_MAGIC], [0x43, 0x41, 0x49, 0x52, 0x4e, 0x50, 0x4b, 0x01]);
});

Deno.test("segment AAD is the label, the type letter and the offset as u64 little-endian", () => {
  for (const offset of [0, 24, 0x01020304, 2 ** 32 + 5]) {
    assertEquals(segmentAad("data", offset), docSegmentAad("d", offset));
    assertEquals(segmentAad("tree", offset), docSegmentAad("t", offset));
  }
  // The last eight bytes are the offset, low byte first.
  assertEquals([...segmentAad("data", 0x0102).slice(-8)], [2, 1, 0, 0, 0, 0, 0, 0]);
  assertEquals(segmentAad("tree", 0).slice(0, 18), ascii("cairn v1 segment t"));
});

Deno.test("whole-file AAD is 'cairn v1 file ' and the namespace", () => {
  for (const kind of ["config", "index", "snapshots", "locks", "pack"]) {
    assertEquals(fileAad(kind), ascii(`cairn v1 file ${kind}`));
  }
});

Deno.test("file keys are HKDF-SHA-256 of enc and the salt with info 'cairn v1 <purpose>'", async () => {
  const ikm = crypto.getRandomValues(new Uint8Array(32));
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const aad = ascii("any");
  for (const purpose of ["pack", "config", "index", "snapshots", "locks", "key file"]) {
    const sealed = await seal(await deriveFileKey(ikm, salt, purpose), ascii(purpose), aad);
    const back = await docOpen(await docFileKey(ikm, salt, purpose), sealed, aad);
    assertEquals(new TextDecoder().decode(back), purpose);
  }
});

Deno.test("a sealed JSON file is salt (16) ‖ nonce (12) ‖ zstd ciphertext ‖ tag (16)", async () => {
  const master = newMasterKey();
  const value = { v: 1, hello: "world", list: [1, 2, 3] };
  const bytes = await encodeSealedJson(master.enc, "snapshots", value);
  assertEquals(await docOpenSealedJson(master, "snapshots", bytes), value);
  // The salt selects the key: another salt does not open it.
  const other = bytes.slice();
  other[0] ^= 1;
  let opened = true;
  await docOpenSealedJson(master, "snapshots", other).catch(() => opened = false);
  assert(!opened, "a changed salt still opened the file");
});

Deno.test("a key file opens with Argon2id, HKDF 'cairn v1 key file' and AAD 'cairn key file v1'", async () => {
  const master = newMasterKey();
  const bytes = await createKeyFile(master, "pw", {
    memoryKiB: 8192,
    iterations: 1,
    parallelism: 1,
  });
  const json = JSON.parse(new TextDecoder().decode(bytes));
  assertEquals(
    Object.keys(json).sort(),
    [
      "created",
      "data",
      "host",
      "iterations",
      "kdf",
      "memory_kib",
      "parallelism",
      "salt",
      "username",
      "version",
    ],
  );
  assertEquals(await docOpenKeyFile(bytes, "pw"), master);
});

Deno.test("a pack is magic ‖ salt ‖ sealed segments ‖ sealed trailer ‖ u32 LE length", async () => {
  const backend = new MemoryBackend();
  const master = newMasterKey();
  const names: string[] = [];
  const writer = new PackWriter(backendPackStore(backend), master.enc, {
    targetSize: 1 << 20,
    compressionLevel: 3,
    onPack: (p) => {
      names.push(p.name);
    },
  });
  const small = ascii("small blob ".repeat(50));
  const big = new Uint8Array(300 * 1024).map((_, i) => (i * 7919) >> 3);
  const tiny = ascii("x");
  for (const b of [small, tiny, big]) writer.add("data", toHex(keyedId(master.id, b)), b);
  await writer.flush();
  assertEquals(names.length, 1);
  const bytes = await backend.load("data", names[0]);
  assertEquals(docName(bytes), names[0]);
  const { list, blobs } = await docReadPack(master, bytes);
  // A blob of 256 KiB or more is a segment by itself, placed at once; the two
  // small ones share the segment that closes at the flush.
  assertEquals(list.map((t) => [t[0], t[4], t[5]]), [
    ["d", big.length, 0],
    ["d", small.length, 0],
    ["d", 1, small.length],
  ]);
  assertEquals(list[0][2], 24, "the first segment follows magic and salt");
  assertEquals(list[1][2], 24 + list[0][3], "segments follow each other");
  assertEquals(list[1][2], list[2][2], "small blobs share a segment");
  assertEquals([...blobs.values()].map((b) => b.plain), [big, small, tiny]);
});
