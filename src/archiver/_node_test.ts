import { assert } from "../testing/asserts.ts";
import type { Node } from "../repo/mod.ts";
import { unchanged } from "./_node.ts";

const node = (mtime: string, ctime: string): Node => ({
  name: "f",
  type: "file",
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime,
  ctime,
  inode: 7,
  dev: 1,
  links: 1,
  size: 3,
  content: ["a".repeat(64)],
});

Deno.test("unchanged() compares nanosecond times exactly", () => {
  const old = node("1700000000123456789", "1700000001987654321");
  assert(unchanged(node("1700000000123456789", "1700000001987654321"), old, 3));
  assert(!unchanged(node("1700000000123456788", "1700000001987654321"), old, 3));
  assert(!unchanged(node("1700000000123456789", "1700000001987654320"), old, 3));
});

Deno.test("unchanged() against a parent with Deno's times compares mtime to the ms and ctime to the s", () => {
  // What a backup before `ns_times` stored of the same file.
  const old = node("1700000000123000000", "1700000001000000000");
  const now = node("1700000000123456789", "1700000001987654321");
  assert(!unchanged(now, old, 3));
  assert(unchanged(now, old, 3, true));
  assert(!unchanged(node("1700000000124000000", now.ctime), old, 3, true));
  assert(!unchanged(node(now.mtime, "1700000002000000000"), old, 3, true));
});
