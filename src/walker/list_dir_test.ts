import { assertEquals } from "../testing/asserts.ts";
import { listDir } from "./list_dir.ts";

Deno.test("listDir() returns entries sorted by name with lstat info", () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const n of ["b", "a", "C", "é"]) Deno.writeTextFileSync(`${dir}/${n}`, n);
    Deno.symlinkSync("/nonexistent", `${dir}/link`);
    const { entries, errors } = listDir(dir);
    assertEquals(errors, []);
    assertEquals(entries.map((e) => e.name), ["C", "a", "b", "link", "é"]);
    assertEquals(entries[3].info.isSymlink, true);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
