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

/**
 * Bounds a key file's parameters must be within before we spend time or
 * memory on them: every command pays for them, and a key file is data
 * anyone who can write to the repository could raise. hash-wasm cannot
 * allocate 2 GiB (WASM memory is 32-bit), and 1 GiB took 10.1 s and 1.4 GB
 * here against 440 ms for the default, on the same loaded 2-core machine;
 * so memory stops at 512 MiB and memory × passes at {@link KDF_MAX_COST}.
 */
export const KDF_BOUNDS = {
  memoryKiB: [8 * 1024, 512 * 1024],
  iterations: [1, 20],
  parallelism: [1, 16],
} as const;

/** The most memory × passes (in KiB) a key file may ask for: 512 MiB once, 64 MiB eight times. */
export const KDF_MAX_COST = 512 * 1024;

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

/** Checks `params` against {@link KDF_BOUNDS} and {@link KDF_MAX_COST}; throws RangeError naming the first bad one. */
export function validateKdfParams(params: KdfParams): KdfParams {
  for (const name of ["memoryKiB", "iterations", "parallelism"] as const) {
    const v = params[name];
    const [lo, hi] = KDF_BOUNDS[name];
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new RangeError(`KDF parameter ${name}=${v} is outside ${lo}..${hi}`);
    }
  }
  if (params.memoryKiB * params.iterations > KDF_MAX_COST) {
    throw new RangeError(
      `KDF parameters memoryKiB=${params.memoryKiB} × iterations=${params.iterations} ` +
        `are above ${KDF_MAX_COST} KiB-passes`,
    );
  }
  return params;
}

async function passwordKey(password: string, salt: Uint8Array, p: KdfParams) {
  // Imported here, not at the top: hash-wasm's module holds every one of its
  // hashes, 5 MiB of RSS in each isolate that loads it, and the file savers and
  // restorers import this module for keyedId and the AEAD, never for a key file.
  const { argon2id } = await import("hash-wasm");
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

/** A key file read and checked, not yet opened. */
export interface ParsedKeyFile {
  name: string;
  params: KdfParams;
  salt: Uint8Array;
  data: Uint8Array;
}

/**
 * Reads a key file's JSON and checks it, parameters within bounds, without
 * running Argon2. Throws a one-line Error naming `name` when it is
 * malformed.
 */
export function parseKeyFile(bytes: Uint8Array, name: string): ParsedKeyFile {
  try {
    const json: KeyFileJson = JSON.parse(fromUtf8(bytes));
    if (json.version !== 1 || json.kdf !== "argon2id") {
      throw new Error(`unsupported version ${json.version} or kdf ${json.kdf}`);
    }
    const params = validateKdfParams({
      memoryKiB: json.memory_kib,
      iterations: json.iterations,
      parallelism: json.parallelism,
    });
    const salt = fromBase64(json.salt);
    if (salt.length < 16 || salt.length > 64) throw new Error(`salt of ${salt.length} bytes`);
    return { name, params, salt, data: fromBase64(json.data) };
  } catch (err) {
    throw new Error(`Key file "${name}" is malformed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Opens a key file with `password`. Throws {@link WrongPasswordError} when
 * the password does not fit, and a one-line Error naming `name` when the
 * file is malformed or its parameters are out of bounds.
 */
export function openKeyFile(
  bytes: Uint8Array,
  password: string,
  name: string,
): Promise<MasterKey> {
  return openParsedKeyFile(parseKeyFile(bytes, name), password);
}

/** Opens a key file {@link parseKeyFile} accepted; see {@link openKeyFile}. */
export async function openParsedKeyFile(
  file: ParsedKeyFile,
  password: string,
): Promise<MasterKey> {
  const { name, salt, data, params } = file;
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
