import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { XattrFilter } from "./_xattr_filter.ts";

const XATTRS = [
  { name: "security.capability", value: "AQAAAg==" },
  { name: "security.selinux", value: "c3lzdGVt" },
  { name: "system.posix_acl_access", value: "AgAAAA==" },
  { name: "user.note", value: "bm90ZQ==" },
  { name: "user.mime.type", value: "dGV4dA==" },
];
const names = (f: XattrFilter) => f.keep(XATTRS)?.map((x) => x.name);

Deno.test("XattrFilter keeps every attribute with no globs", () => {
  assertEquals(names(new XattrFilter()), XATTRS.map((x) => x.name));
});

Deno.test("XattrFilter leaves out what --exclude-xattr matches, '*' across dots", () => {
  assertEquals(names(new XattrFilter(["security.*"])), [
    "system.posix_acl_access",
    "user.note",
    "user.mime.type",
  ]);
  assertEquals(names(new XattrFilter(["user.*", "system.posix_acl_access"])), [
    "security.capability",
    "security.selinux",
  ]);
});

Deno.test("XattrFilter keeps only what --include-xattr matches", () => {
  assertEquals(names(new XattrFilter([], ["user.*"])), ["user.note", "user.mime.type"]);
  assertEquals(names(new XattrFilter([], ["security.selinux"])), ["security.selinux"]);
});

Deno.test("XattrFilter refuses both kinds at once, and an empty glob", () => {
  assertThrows(() => new XattrFilter(["user.*"], ["security.*"]), TypeError, "do not combine");
  assertThrows(() => new XattrFilter([" "]), TypeError, "Empty xattr pattern");
});
