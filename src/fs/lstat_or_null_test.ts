import { join } from "node:path";
import { assert, assertEquals, assertThrows } from "../testing/asserts.ts";
import { lstatOrNull } from "./lstat_or_null.ts";

Deno.test("lstatOrNull() sees a link itself, and null where nothing is", () => {
  const dir = Deno.makeTempDirSync({ prefix: "cairn-fs-" });
  try {
    Deno.symlinkSync("missing", join(dir, "dangling"));
    assert(lstatOrNull(join(dir, "dangling"))?.isSymlink);
    assertEquals(lstatOrNull(join(dir, "missing")), null);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("lstatOrNull() throws errors other than a missing entry", () => {
  const dir = Deno.makeTempDirSync({ prefix: "cairn-fs-" });
  try {
    Deno.writeTextFileSync(join(dir, "file"), "x");
    assertThrows(() => lstatOrNull(join(dir, "file", "below")), Deno.errors.NotADirectory);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
