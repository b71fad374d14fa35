import { keyedId, newMasterKey, toHex } from "../crypto/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { docReadPack } from "../testing/format_reader.ts";
import { type PackInfo, PackWriter } from "./pack.ts";

Deno.test("PackWriter's packs hold every blob though it frees and reuses its buffers and the caller reuses its own", async () => {
  const master = newMasterKey();
  // A store that keeps the bytes it is given, without copying, and answers late:
  // a buffer freed or reused after being handed over would show in them.
  const stored: { pack: PackInfo; bytes: Uint8Array }[] = [];
  const store = {
    async savePack(pack: PackInfo, bytes: Uint8Array) {
      await new Promise((r) => setTimeout(r, 5));
      stored.push({ pack, bytes });
    },
  };
  const writer = new PackWriter(store, master.enc, {
    targetSize: 1 << 20,
    compressionLevel: 3,
    onPack: () => {},
  });
  const want = new Map<string, Uint8Array>();
  // One input buffer, overwritten after each add (add copies or compresses before it returns).
  const input = new Uint8Array(400 * 1024);
  let seed = 1;
  for (let i = 0; i < 300; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const size = i % 37 === 0 ? 256 * 1024 + (seed % 100_000) : seed % 20_000;
    const blob = input.subarray(0, size);
    // Half compressible text, half noise.
    for (let k = 0; k < size; k++) {
      blob[k] = i % 2 ? (k * 31 + i) & 0xff : (seed = (seed * 69069 + 1) >>> 0) >>> 24;
    }
    const id = toHex(keyedId(master.id, blob));
    if (!want.has(id)) {
      want.set(id, blob.slice());
      writer.add("data", id, blob);
    }
    input.fill(0xee);
    if (writer.backlog > 1) await writer.drain();
  }
  await writer.flush();
  assert(stored.length > 2, `several packs (${stored.length})`);
  const got = new Map<string, Uint8Array>();
  for (const { pack, bytes } of stored) {
    assertEquals(bytes.length, pack.size, `pack ${pack.name} is whole`);
    for (const [id, b] of (await docReadPack(master, bytes)).blobs) got.set(id, b.plain);
  }
  assertEquals(got.size, want.size);
  for (const [id, data] of want) assertEquals(got.get(id), data, id);
});
