import { join } from "node:path";
import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { readFileIfExists } from "./read_file_if_exists.ts";

Deno.test("readFileIfExists() gives the bytes, or undefined for a missing file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-fs-" });
  try {
    Deno.writeFileSync(join(dir, "f"), new Uint8Array([1, 2, 3]));
    assertEquals(await readFileIfExists(join(dir, "f")), new Uint8Array([1, 2, 3]));
    assertEquals(await readFileIfExists(join(dir, "missing")), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFileIfExists() throws errors other than a missing file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-fs-" });
  try {
    await assertRejects(() => readFileIfExists(dir));
  } finally {
    await Deno.remove(dir);
  }
});
