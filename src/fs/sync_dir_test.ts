import { join } from "node:path";
import { assertRejects, assertThrows } from "../testing/asserts.ts";
import { syncDir, syncDirSync } from "./sync_dir.ts";

Deno.test("syncDir() and syncDirSync() fsync an existing directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-fs-" });
  try {
    await syncDir(dir);
    syncDirSync(dir);
  } finally {
    await Deno.remove(dir);
  }
});

Deno.test("syncDir() and syncDirSync() fail with NotFound on a missing directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-fs-" });
  try {
    await assertRejects(() => syncDir(join(dir, "gone")), Deno.errors.NotFound);
    assertThrows(() => syncDirSync(join(dir, "gone")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir);
  }
});
