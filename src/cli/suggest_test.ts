import { assertEquals } from "../testing/asserts.ts";
import { nearest } from "./suggest.ts";

Deno.test("nearest() suggests a close candidate and nothing for a distant one", () => {
  const commands = ["backup", "restore", "snapshots", "ls", "prune", "forget"];
  assertEquals(nearest("bakup", commands), "backup");
  assertEquals(nearest("restroe", commands), "restore");
  assertEquals(nearest("snap", commands), "snapshots");
  assertEquals(nearest("xyzzy", commands), undefined);
  assertEquals(nearest("exlcude", ["exclude", "exclude-if-present", "tag"]), "exclude");
});
