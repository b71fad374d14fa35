import { zstdCompressSync, zstdDecompressSync } from "node:zlib";
import type { Backend, FileType } from "../backend/mod.ts";
import { concatBytes } from "../fs/mod.ts";
import {
  AuthError,
  deriveFileKey,
  fromUtf8,
  open,
  SALT_SIZE,
  seal,
  sha256,
  toHex,
  utf8,
} from "../crypto/mod.ts";
import { CorruptError, fileAad } from "./format.ts";

/**
 * Whole-file objects (config, index, snapshots): JSON, zstd-compressed and
 * sealed under a key derived from a random salt at the front:
 * `salt ‖ nonce ‖ ciphertext ‖ tag`. The file's name is the SHA-256 of
 * those bytes, so a reader can check it against its name.
 */
export async function encodeSealedJson(
  masterEnc: Uint8Array,
  kind: string,
  value: unknown,
): Promise<Uint8Array> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_SIZE));
  const key = await deriveFileKey(masterEnc, salt, kind);
  const body = zstdCompressSync(utf8(JSON.stringify(value)));
  return concatBytes([salt, await seal(key, body, fileAad(kind))]);
}

/** Decrypts and parses what {@link encodeSealedJson} made; `what` names it in errors. */
export async function decodeSealedJson(
  masterEnc: Uint8Array,
  kind: string,
  bytes: Uint8Array,
  what: string,
): Promise<unknown> {
  if (bytes.length < SALT_SIZE) throw new CorruptError(`${what} is truncated`);
  const key = await deriveFileKey(masterEnc, bytes.subarray(0, SALT_SIZE), kind);
  let body: Uint8Array;
  try {
    body = await open(key, bytes.subarray(SALT_SIZE), fileAad(kind), what);
  } catch (err) {
    if (err instanceof AuthError) {
      throw new CorruptError(`${what} is damaged: authentication failed`, { cause: err });
    }
    throw err;
  }
  try {
    return JSON.parse(fromUtf8(zstdDecompressSync(body)));
  } catch (err) {
    throw new CorruptError(`${what} is damaged: ${(err as Error).message}`, { cause: err });
  }
}

/** Seals `value` and saves it under the hash of its bytes; returns that name. */
export async function saveSealedJson(
  backend: Backend,
  masterEnc: Uint8Array,
  type: FileType,
  value: unknown,
): Promise<string> {
  const bytes = await encodeSealedJson(masterEnc, type, value);
  const name = toHex(sha256(bytes));
  await backend.save(type, name, bytes);
  return name;
}

/** Loads a sealed JSON file, checking its bytes against its name first. */
export async function loadSealedJson(
  backend: Backend,
  masterEnc: Uint8Array,
  type: FileType,
  name: string,
): Promise<unknown> {
  const bytes = await backend.load(type, name);
  const what = `${type} file "${name}"`;
  if (type !== "config" && toHex(sha256(bytes)) !== name) {
    throw new CorruptError(`${what} is damaged: its content does not match its name`);
  }
  return await decodeSealedJson(masterEnc, type, bytes, what);
}
