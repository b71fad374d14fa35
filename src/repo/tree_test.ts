import { utf8 } from "../crypto/mod.ts";
import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { nameOfBytes } from "../platform/mod.ts";
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

Deno.test("a name that is not UTF-8 is stored as a stand-in and its bytes, and read back exactly", () => {
  const e9 = nameOfBytes(new Uint8Array([0x63, 0x61, 0x66, 0xe9])); // "caf" + 0xE9
  const ff = nameOfBytes(new Uint8Array([0xff]));
  // A plain name that is the first one's stand-in: the stand-in must step aside.
  const nodes = [e9, ff, "caf\\xE9", "plain"].sort().map(file);
  const bytes = encodeTree({ nodes });
  const stored = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)).nodes;
  const byBytes = Object.fromEntries(
    stored.filter((n: { name_bytes?: string }) => n.name_bytes).map((
      n: { name: string; name_bytes: string },
    ) => [n.name_bytes, n.name]),
  );
  assertEquals(byBytes, { "Y2Fm6Q==": "caf\\xE9~1", "/w==": "\\xFF" });
  // Every stored name is printable, single and safe, as an older reader needs.
  for (const n of stored) assertEquals(isSafeName(n.name), true);
  const names = stored.map((n: Node) => n.name);
  assertEquals(names, [...names].sort(), "stored sorted by the names stored");
  assertEquals(new Set(stored.map((n: Node) => n.name)).size, stored.length);
  assertEquals(decodeTree(bytes, "t").nodes, nodes);
});

Deno.test("decodeTree() rejects name_bytes that are unsafe, UTF-8 or not base64", () => {
  const b64 = (b: number[]) => btoa(String.fromCharCode(...b));
  for (
    const nb of [
      b64([0x61, 0x2f, 0xff]), // a slash
      b64([0xff, 0]), // NUL
      b64([0x2e, 0x2e]), // ..
      b64([0x61, 0x62]), // UTF-8: spelled in name
      b64([]),
      "not base64!",
      5,
    ]
  ) {
    const node = { ...file("stand-in"), name_bytes: nb };
    assertThrows(
      () => decodeTree(utf8(JSON.stringify({ nodes: [node] })), "t"),
      CorruptError,
      "name_bytes",
    );
  }
});

Deno.test("decodeTree() keeps file flags and rejects malformed ones", () => {
  const ok = { ...file("x"), flags: 0x30 };
  assertEquals(decodeTree(encodeTree({ nodes: [ok] }), "t").nodes, [ok]);
  for (const flags of [0, -1, 1.5, 2 ** 32, "16", null]) {
    assertThrows(
      () => decodeTree(utf8(JSON.stringify({ nodes: [{ ...file("x"), flags }] })), "t"),
      CorruptError,
      "malformed flags",
    );
  }
});
