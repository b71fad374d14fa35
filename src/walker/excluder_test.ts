import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { Excluder } from "./excluder.ts";

Deno.test("Excluder matches name patterns at any depth", () => {
  const ex = new Excluder(["*.swp", ".cache"]);
  assertEquals(ex.excludes("/home/a/file.swp"), true);
  assertEquals(ex.excludes("/home/a/.cache"), true);
  assertEquals(ex.excludes("/home/a/file.swpx"), false);
  assertEquals(ex.excludes("/home/.cache/x"), false, "children are skipped by the walk, not here");
});

Deno.test("Excluder matches path patterns against the whole path", () => {
  const ex = new Excluder(["/etc/ssl/private", "/home/*/tmp"]);
  assertEquals(ex.excludes("/etc/ssl/private"), true);
  assertEquals(ex.excludes("/x/etc/ssl/private"), false);
  assertEquals(ex.excludes("/home/bob/tmp"), true);
  assertEquals(ex.excludes("/home/bob/tmpx"), false);
});

Deno.test("Excluder refuses an empty pattern", () => {
  assertThrows(() => new Excluder([""]), TypeError);
});
