import { createHash, type Hash } from "node:crypto";

/** SHA-256's block: HMAC pads its key to this. */
const BLOCK = 64;

/**
 * Per key, SHA-256 states that have taken HMAC's inner and outer pads;
 * each id copies them. By the key's identity: keys are never changed in place.
 */
const padded = new WeakMap<Uint8Array, { inner: Hash; outer: Hash }>();

function padsOf(key: Uint8Array): { inner: Hash; outer: Hash } {
  let p = padded.get(key);
  if (!p) {
    const k = new Uint8Array(BLOCK);
    k.set(key.length > BLOCK ? sha256(key) : key);
    const ipad = k.map((b) => b ^ 0x36);
    const opad = k.map((b) => b ^ 0x5c);
    p = { inner: createHash("sha256").update(ipad), outer: createHash("sha256").update(opad) };
    padded.set(key, p);
  }
  return p;
}

/**
 * Keyed id of a blob's plaintext: HMAC-SHA-256 under the repository's secret
 * id key, so ids reveal nothing about content to someone without the key.
 *
 * HMAC-SHA-256 through node:crypto is native and synchronous: measured here
 * at 1.47 GB/s on large buffers and 28 µs per 16 KiB buffer, against 453 MB/s
 * for BLAKE3 in WASM; ids are computed in worker threads, so sync is a plus.
 * HMAC is spelled out (RFC 2104) on copies of SHA-256 states that have taken
 * the key's pads: node:crypto's createHmac pads the key anew for each id in
 * JS, with buffers to collect (16-20 µs CPU an id against 20-30 µs, on blobs
 * of 2-34 KiB).
 */
export function keyedId(key: Uint8Array, data: Uint8Array): Uint8Array {
  const { inner, outer } = padsOf(key);
  return outer.copy().update(inner.copy().update(data).digest()).digest();
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
