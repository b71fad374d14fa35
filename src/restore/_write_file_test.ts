import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { keyedId, toHex } from "../crypto/mod.ts";
import { writeRestoredFile } from "./_write_file.ts";

async function* blobs(...parts: Uint8Array[]) {
  yield* parts;
}

Deno.test("writeRestoredFile with verify passes bytes that match their ids and removes a file that does not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-verify-" });
  const idKey = new Uint8Array(32).fill(7);
  const a = new TextEncoder().encode("alpha");
  const b = new TextEncoder().encode("bravo");
  const ids = [a, b].map((x) => toHex(keyedId(idKey, x)));
  const spec = (path: string) => ({
    path,
    size: 10,
    mode: 0o644,
    owner: null,
    setgidDir: false,
    atimeNs: "0",
    mtimeNs: "0",
    verify: { idKey, ids },
  });
  const r = await writeRestoredFile(spec(`${dir}/good`), blobs(a, b));
  assertEquals(r.bytes, 10);
  assertEquals(Deno.readTextFileSync(`${dir}/good`), "alphabravo");
  // Bytes that are not the blobs' (as a bad disk or a bug would give) fail the reread.
  await assertRejects(
    () => writeRestoredFile(spec(`${dir}/bad`), blobs(a, new TextEncoder().encode("BRAVO"))),
    Error,
    "verify failed: blob 2 of 2 reads back wrong",
  );
  assertEquals(Deno.readDirSync(dir).map((e) => e.name).toArray(), ["good"]);
  await Deno.remove(dir, { recursive: true });
});
