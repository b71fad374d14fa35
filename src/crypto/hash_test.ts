import { assertEquals, assertNotEquals } from "../testing/asserts.ts";
import { fromHex, toHex, utf8 } from "./encoding.ts";
import { equalBytes, keyedId, sha256 } from "./hash.ts";

Deno.test("sha256() matches the published test vector", () => {
  assertEquals(
    toHex(sha256(utf8("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("keyedId() is HMAC-SHA-256 (RFC 4231 test case 2)", () => {
  assertEquals(
    toHex(keyedId(utf8("Jefe"), utf8("what do ya want for nothing?"))),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
});

Deno.test("keyedId() hashes a key longer than a block first, and gives one key's ids again (RFC 4231 test case 6)", () => {
  const key = new Uint8Array(131).fill(0xaa);
  const want = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
  const data = utf8("Test Using Larger Than Block-Size Key - Hash Key First");
  assertEquals(toHex(keyedId(key, data)), want);
  assertNotEquals(toHex(keyedId(key, utf8("other"))), want);
  assertEquals(toHex(keyedId(key, data)), want);
});

Deno.test("keyedId() depends on the key", () => {
  const data = utf8("same content");
  assertNotEquals(
    toHex(keyedId(new Uint8Array(32), data)),
    toHex(keyedId(new Uint8Array(32).fill(1), data)),
  );
});

Deno.test("equalBytes() compares content and length", () => {
  assertEquals(equalBytes(fromHex("0102"), fromHex("0102")), true);
  assertEquals(equalBytes(fromHex("0102"), fromHex("0103")), false);
  assertEquals(equalBytes(fromHex("01"), fromHex("0102")), false);
});
