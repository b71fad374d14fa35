import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { AuthError, deriveFileKey, open, seal, SEAL_OVERHEAD } from "./aead.ts";
import { utf8 } from "./encoding.ts";

const master = crypto.getRandomValues(new Uint8Array(32));
const salt = crypto.getRandomValues(new Uint8Array(16));

Deno.test("seal() output opens with the same key and aad", async () => {
  const key = await deriveFileKey(master, salt, "pack");
  const sealed = await seal(key, utf8("hello"), utf8("aad"));
  assertEquals(sealed.length, 5 + SEAL_OVERHEAD);
  assertEquals(await open(key, sealed, utf8("aad")), utf8("hello"));
});

Deno.test("open() rejects a different aad, so swapped objects are caught", async () => {
  const key = await deriveFileKey(master, salt, "pack");
  const sealed = await seal(key, utf8("hello"), utf8("blob 1"));
  await assertRejects(() => open(key, sealed, utf8("blob 2")), AuthError);
});

Deno.test("open() rejects a flipped bit anywhere", async () => {
  const key = await deriveFileKey(master, salt, "pack");
  const sealed = await seal(key, new Uint8Array(100), utf8("a"));
  for (const at of [0, 11, 12, 60, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[at] ^= 1;
    await assertRejects(() => open(key, bad, utf8("a")), AuthError);
  }
});

Deno.test("deriveFileKey() gives different keys for different salts and purposes", async () => {
  const k1 = await deriveFileKey(master, salt, "pack");
  const sealed = await seal(k1, utf8("x"), utf8(""));
  const k2 = await deriveFileKey(master, new Uint8Array(16), "pack");
  const k3 = await deriveFileKey(master, salt, "index");
  await assertRejects(() => open(k2, sealed, utf8("")), AuthError);
  await assertRejects(() => open(k3, sealed, utf8("")), AuthError);
});

Deno.test("seal() uses a fresh nonce each time", async () => {
  const key = await deriveFileKey(master, salt, "pack");
  const a = await seal(key, utf8("same"), utf8(""));
  const b = await seal(key, utf8("same"), utf8(""));
  assertEquals(a.length, b.length);
  assertEquals(a.slice(0, 12).toString() === b.slice(0, 12).toString(), false);
});
