import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { fromUtf8, utf8 } from "./encoding.ts";
import {
  createKeyFile,
  type KdfParams,
  newMasterKey,
  openKeyFile,
  validateKdfParams,
  WrongPasswordError,
} from "./master_key.ts";
import { assertThrows } from "../testing/asserts.ts";

const FAST: KdfParams = { memoryKiB: 8192, iterations: 1, parallelism: 1 };

Deno.test("openKeyFile() returns the master key for the right password", async () => {
  const master = newMasterKey();
  const file = await createKeyFile(master, "secret", FAST, { host: "h" });
  assertEquals(await openKeyFile(file, "secret", "k"), master);
});

Deno.test("openKeyFile() throws WrongPasswordError for a wrong password", async () => {
  const file = await createKeyFile(newMasterKey(), "secret", FAST);
  await assertRejects(() => openKeyFile(file, "Secret", "k"), WrongPasswordError);
});

Deno.test("openKeyFile() refuses parameters outside the bounds before running Argon2", async () => {
  const file = await createKeyFile(newMasterKey(), "secret", FAST);
  const json = JSON.parse(fromUtf8(file));
  json.memory_kib = 64 * 1024 * 1024;
  await assertRejects(
    () => openKeyFile(utf8(JSON.stringify(json)), "secret", "abc"),
    Error,
    'Key file "abc" is malformed: KDF parameter memoryKiB',
  );
});

Deno.test("openKeyFile() names the file when it is not JSON", async () => {
  await assertRejects(() => openKeyFile(utf8("garbage"), "x", "f00"), Error, 'Key file "f00"');
});

Deno.test("validateKdfParams() rejects zero iterations", () => {
  assertThrows(() => validateKdfParams({ ...FAST, iterations: 0 }), RangeError, "iterations");
});
