import { Buffer } from "node:buffer";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { AuthError, equalBytes, fromHex, keyedId, open, seal } from "../crypto/mod.ts";
import { blobAad, type BlobType, CorruptError, FLAG_RAW, FLAG_ZSTD } from "./format.ts";

/** Blobs smaller than this are stored raw: zstd's frame costs more than it saves. */
const MIN_COMPRESS = 64;

/**
 * Compresses `plain` with zstd when that makes it smaller, checking that the
 * compressed form decompresses to exactly `plain` before it is trusted.
 * Returns the flag byte and payload that become the blob's plaintext.
 */
export function packPayload(plain: Uint8Array, level: number): Uint8Array {
  if (level > 0 && plain.length >= MIN_COMPRESS) {
    const z = zstdCompressSync(plain, { params: { [constants.ZSTD_c_compressionLevel]: level } });
    if (z.length + 1 < plain.length) {
      const back = zstdDecompressSync(z);
      if (Buffer.compare(back, plain) !== 0) {
        throw new Error("zstd round trip does not reproduce the data; refusing to store it");
      }
      const out = new Uint8Array(z.length + 1);
      out[0] = FLAG_ZSTD;
      out.set(z, 1);
      return out;
    }
  }
  const out = new Uint8Array(plain.length + 1);
  out[0] = FLAG_RAW;
  out.set(plain, 1);
  return out;
}

/** Seals a payload from {@link packPayload} for its place as blob (type, id). */
export function sealBlob(
  key: CryptoKey,
  type: BlobType,
  id: string,
  payload: Uint8Array,
): Promise<Uint8Array> {
  return seal(key, payload, blobAad(type, id));
}

/**
 * Opens a stored blob and returns its plaintext, after checking that it
 * authenticates as (type, id), decompresses, and hashes to `id`.
 */
export async function openBlob(
  key: CryptoKey,
  idKey: Uint8Array,
  type: BlobType,
  id: string,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  let payload: Uint8Array;
  try {
    payload = await open(key, sealed, blobAad(type, id), `${type} blob ${id}`);
  } catch (err) {
    if (err instanceof AuthError) {
      throw new CorruptError(`${type} blob ${id} is damaged: authentication failed`, {
        cause: err,
      });
    }
    throw err;
  }
  let plain: Uint8Array;
  if (payload[0] === FLAG_RAW) plain = payload.subarray(1);
  else if (payload[0] === FLAG_ZSTD) {
    try {
      plain = new Uint8Array(zstdDecompressSync(payload.subarray(1)));
    } catch (err) {
      throw new CorruptError(`${type} blob ${id} is damaged: cannot decompress`, { cause: err });
    }
  } else throw new CorruptError(`${type} blob ${id} has unknown flag ${payload[0]}`);
  if (!equalBytes(keyedId(idKey, plain), fromHex(id))) {
    throw new CorruptError(`${type} blob ${id} is damaged: content does not match its id`);
  }
  return plain;
}
