import { utf8 } from "../crypto/mod.ts";
import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { CorruptError } from "./format.ts";
import { dateToNs, decodeTree, encodeTree, isSafeName, type Node, nsToDate } from "./tree.ts";

const file = (name: string): Node => ({
  name,
  type: "file",
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: "1700000000123000000",
  ctime: "1700000000123000000",
  inode: 1,
  dev: 1,
  links: 1,
  size: 0,
  content: [],
});

Deno.test("decodeTree() returns what encodeTree() wrote, names byte for byte", () => {
  const nodes = ["a b", "line\nbreak", 'q"uote', "caf\u00e9", "cafe\u0301"].sort().map(file);
  assertEquals(decodeTree(encodeTree({ nodes }), "t").nodes, nodes);
});

Deno.test("decodeTree() rejects names that could leave the restore target", () => {
  for (const name of ["..", ".", "a/b", "/abs", "nul\0", ""]) {
    assertThrows(() => decodeTree(encodeTree({ nodes: [file(name)] }), "t1"), CorruptError, "t1");
  }
});

Deno.test("decodeTree() rejects malformed nodes and duplicate names", () => {
  const bad = [
    { ...file("x"), type: "door" },
    { ...file("x"), content: ["nothex"] },
    { ...file("x"), mtime: 5 },
    { ...file("x"), mode: -1 },
    { ...file("x"), type: "dir", subtree: undefined },
  ];
  for (const n of bad) {
    assertThrows(() => decodeTree(utf8(JSON.stringify({ nodes: [n] })), "t"), CorruptError);
  }
  assertThrows(
    () => decodeTree(encodeTree({ nodes: [file("x"), file("x")] }), "t"),
    CorruptError,
    "twice",
  );
  assertThrows(() => decodeTree(utf8("{"), "t"), CorruptError, "JSON");
});

Deno.test("isSafeName() accepts ordinary and odd-but-safe names", () => {
  for (const n of ["a", "...", ".hidden", "sp ace", "tab\t", "\u{1f600}"]) {
    assertEquals(isSafeName(n), true);
  }
});

Deno.test("dateToNs() and nsToDate() round-trip milliseconds", () => {
  const d = new Date(1700000000123);
  assertEquals(dateToNs(d), "1700000000123000000");
  assertEquals(nsToDate(dateToNs(d)).getTime(), d.getTime());
});

Deno.test("decodeTree() keeps xattrs and rejects malformed or unsorted ones", () => {
  const ok = {
    ...file("x"),
    xattrs: [{ name: "security.capability", value: "AQAAAg==" }, { name: "user.note", value: "" }],
  };
  assertEquals(decodeTree(encodeTree({ nodes: [ok] }), "t").nodes, [ok]);
  const bad = [
    [{ name: "user.b", value: "" }, { name: "user.a", value: "" }],
    [{ name: "user.a", value: "" }, { name: "user.a", value: "" }],
    [{ name: "", value: "" }],
    [{ name: "user.a", value: "not base64!" }],
    [{ name: "user.a" }],
    { name: "user.a", value: "" },
  ];
  for (const xattrs of bad) {
    assertThrows(
      () => decodeTree(utf8(JSON.stringify({ nodes: [{ ...file("x"), xattrs }] })), "t"),
      CorruptError,
      "malformed xattrs",
    );
  }
});
