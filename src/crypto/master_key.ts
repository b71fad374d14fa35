import { argon2id } from "hash-wasm";
import { AuthError, deriveFileKey, open, SALT_SIZE, seal } from "./aead.ts";
import { fromBase64, fromUtf8, toBase64, utf8 } from "./encoding.ts";

/**
 * The repository's secrets, random and independent of the password:
 * `enc` derives every file key, `id` keys the blob id hash and `chunker`
 * seeds the chunker's gear table.
 */
export interface MasterKey {
  enc: Uint8Array;
  id: Uint8Array;
  chunker: Uint8Array;
}

/** Argon2id cost parameters, stored in each key file. */
export interface KdfParams {
  memoryKiB: number;
  iterations: number;
  parallelism: number;
}

/**
 * OWASP's first recommended Argon2id setting (46 MiB, one pass): 150 ms
 * here, paid by every command that opens the repository.
 */
export const DEFAULT_KDF_PARAMS: KdfParams = {
  memoryKiB: 46 * 1024,
  iterations: 1,
  parallelism: 1,
};

/** Bounds a key file's parameters must be within before we spend time or memory on them. */
export const KDF_BOUNDS = {
  memoryKiB: [8 * 1024, 4 * 1024 * 1024],
  iterations: [1, 20],
  parallelism: [1, 16],
} as const;

/** The password does not open this key file. */
export class WrongPasswordError extends Error {
  constructor(message = "wrong password or no key found for it", options?: ErrorOptions) {
    super(message, options);
    this.name = "WrongPasswordError";
  }
}

interface KeyFileJson {
  version: 1;
  kdf: "argon2id";
  memory_kib: number;
  iterations: number;
  parallelism: number;
  salt: string;
  created: string;
  host: string;
  username: string;
  data: string;
}

const KEY_AAD = utf8("cairn key file v1");

/** A fresh random master key. */
export function newMasterKey(): MasterKey {
  const r = () => crypto.getRandomValues(new Uint8Array(32));
  return { enc: r(), id: r(), chunker: r() };
}

/** Checks `params` against {@link KDF_BOUNDS}; throws RangeError naming the first bad one. */
export function validateKdfParams(params: KdfParams): KdfParams {
  for (const name of ["memoryKiB", "iterations", "parallelism"] as const) {
    const v = params[name];
    const [lo, hi] = KDF_BOUNDS[name];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`KDF parameter ${name}=${v} is outside ${lo}..${hi}`);
    }
  }
  return params;
}

async function passwordKey(password: string, salt: Uint8Array, p: KdfParams) {
  const raw = await argon2id({
    password,
    salt,
    parallelism: p.parallelism,
    iterations: p.iterations,
    memorySize: p.memoryKiB,
    hashLength: 32,
    outputType: "binary",
  });
  return await deriveFileKey(raw, salt, "key file");
}

/** Serialises `master` into a key file that `password` opens. */
export async function createKeyFile(
  master: MasterKey,
  password: string,
  params: KdfParams = DEFAULT_KDF_PARAMS,
  meta: { host?: string; username?: string; created?: Date } = {},
): Promise<Uint8Array> {
  validateKdfParams(params);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_SIZE));
  const key = await passwordKey(password, salt, params);
  const secret = utf8(JSON.stringify({
    enc: toBase64(master.enc),
    id: toBase64(master.id),
    chunker: toBase64(master.chunker),
  }));
  const json: KeyFileJson = {
    version: 1,
    kdf: "argon2id",
    memory_kib: params.memoryKiB,
    iterations: params.iterations,
    parallelism: params.parallelism,
    salt: toBase64(salt),
    created: (meta.created ?? new Date()).toISOString(),
    host: meta.host ?? "",
    username: meta.username ?? "",
    data: toBase64(await seal(key, secret, KEY_AAD)),
  };
  return utf8(JSON.stringify(json, null, 2) + "\n");
}

/**
 * Opens a key file with `password`. Throws {@link WrongPasswordError} when
 * the password does not fit, and a one-line Error naming `name` when the
 * file is malformed or its parameters are out of bounds.
 */
export async function openKeyFile(
  bytes: Uint8Array,
  password: string,
  name: string,
): Promise<MasterKey> {
  let json: KeyFileJson;
  let params: KdfParams;
  let salt: Uint8Array;
  let data: Uint8Array;
  try {
    json = JSON.parse(fromUtf8(bytes));
    if (json.version !== 1 || json.kdf !== "argon2id") {
      throw new Error(`unsupported version ${json.version} or kdf ${json.kdf}`);
    }
    params = validateKdfParams({
      memoryKiB: json.memory_kib,
      iterations: json.iterations,
      parallelism: json.parallelism,
    });
    salt = fromBase64(json.salt);
    if (salt.length < 16 || salt.length > 64) throw new Error(`salt of ${salt.length} bytes`);
    data = fromBase64(json.data);
  } catch (err) {
    throw new Error(`Key file "${name}" is malformed: ${(err as Error).message}`, { cause: err });
  }
  const key = await passwordKey(password, salt, params);
  let secret: Uint8Array;
  try {
    secret = await open(key, data, KEY_AAD, `key file "${name}"`);
  } catch (err) {
    if (err instanceof AuthError) throw new WrongPasswordError(undefined, { cause: err });
    throw err;
  }
  const s = JSON.parse(fromUtf8(secret));
  const master = { enc: fromBase64(s.enc), id: fromBase64(s.id), chunker: fromBase64(s.chunker) };
  for (const [k, v] of Object.entries(master)) {
    if (v.length !== 32) {
      throw new Error(`Key file "${name}" holds a ${k} key of ${v.length} bytes`);
    }
  }
  return master;
}
