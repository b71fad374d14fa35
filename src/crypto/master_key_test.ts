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

Deno.test("openKeyFile() refuses what hash-wasm cannot allocate, and costs past the bound", async () => {
  const file = await createKeyFile(newMasterKey(), "secret", FAST);
  const withParams = (memory_kib: number, iterations: number) =>
    utf8(JSON.stringify({ ...JSON.parse(fromUtf8(file)), memory_kib, iterations }));
  // 4 GiB was documented as allowed; Argon2 failed on it with "Invalid typed array length".
  await assertRejects(
    () => openKeyFile(withParams(4 * 1024 * 1024, 1), "secret", "big"),
    Error,
    'Key file "big" is malformed: KDF parameter memoryKiB=4194304 is outside',
  );
  await assertRejects(
    () => openKeyFile(withParams(256 * 1024, 3), "secret", "slow"),
    Error,
    'Key file "slow" is malformed: KDF parameters memoryKiB=262144 × iterations=3',
  );
});

Deno.test("validateKdfParams() bounds memory times passes", () => {
  assertEquals(validateKdfParams({ ...FAST, memoryKiB: 512 * 1024 }).memoryKiB, 512 * 1024);
  assertEquals(validateKdfParams({ ...FAST, memoryKiB: 64 * 1024, iterations: 8 }).iterations, 8);
  assertThrows(
    () => validateKdfParams({ ...FAST, memoryKiB: 64 * 1024, iterations: 9 }),
    RangeError,
    "KiB-passes",
  );
});
