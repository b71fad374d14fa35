import { createHash, type Hash } from "node:crypto";

/** SHA-256's block: HMAC pads its key to this. */
const BLOCK = 64;

/** The HMAC key last used, and SHA-256 states that have absorbed its padded forms. */
let hmacFor: { key: Uint8Array; inner: Hash; outer: Int32Array } | undefined;

/**
 * Keyed id of a blob's plaintext: HMAC-SHA-256 under the repository's secret
 * id key, so ids reveal nothing about content to someone without the key.
 *
 * SHA-256 through node:crypto is native (SHA-NI here) and synchronous, and
 * ids are computed in worker threads, so sync is a plus. `createHmac` per
 * blob paid its set-up again for every small file; this computes the same
 * HMAC (RFC 2104: H(K^opad || H(K^ipad || m))) from copies of two hash
 * states made once per key: 404-467 -> 640-690 MB/s on the kernel tree's files (one
 * core, bench/stages.ts), the same on megabyte chunks (~1.7 GB/s).
 */
export function keyedId(key: Uint8Array, data: Uint8Array): Uint8Array {
  let h = hmacFor;
  if (!h || !equalBytes(h.key, key)) h = hmacFor = hmacStates(key);
  const inner = h.inner.copy().update(data).digest();
  return outerHash(h.outer, inner);
}

function hmacStates(key: Uint8Array): { key: Uint8Array; inner: Hash; outer: Int32Array } {
  const k = new Uint8Array(BLOCK);
  k.set(key.length > BLOCK ? sha256(key) : key);
  const ipad = k.map((b) => b ^ 0x36);
  const opad = k.map((b) => b ^ 0x5c);
  const outer = Int32Array.from(IV);
  compress(outer, opad);
  return { key: key.slice(), inner: createHash("sha256").update(ipad), outer };
}

/*
 * The outer hash of an HMAC is one SHA-256 block after the key's: the inner
 * digest and its padding. It is done here in JS from the state after the
 * key's block, because node:crypto's copy, update and digest for those 32
 * bytes cost about as much as the inner hash of a small chunk (each call an
 * op): a 100-byte keyed id 7-12 µs, which a first backup of the kernel tree
 * pays for each of its 83,000 blobs.
 */

const IV = [
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
];
const K = Int32Array.from([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const W = new Int32Array(64);
const outerBlock = new Uint8Array(BLOCK);
// The padding after a 32-byte digest that follows one 64-byte block: 0x80, zeros, 768 bits.
outerBlock[32] = 0x80;
outerBlock[62] = 0x03;
const outerState = new Int32Array(8);

/** SHA-256 of the key's outer block (absorbed into `state`) followed by `inner`. */
function outerHash(state: Int32Array, inner: Uint8Array): Uint8Array {
  outerBlock.set(inner);
  outerState.set(state);
  compress(outerState, outerBlock);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = outerState[i];
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = v >>> 16;
    out[4 * i + 2] = v >>> 8;
    out[4 * i + 3] = v;
  }
  return out;
}

/** SHA-256's compression function: absorbs one 64-byte block into `h`. */
function compress(h: Int32Array, block: Uint8Array): void {
  for (let i = 0; i < 16; i++) {
    W[i] = (block[4 * i] << 24) | (block[4 * i + 1] << 16) | (block[4 * i + 2] << 8) |
      block[4 * i + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15];
    const b = W[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + b) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
  h[5] = (h[5] + f) | 0;
  h[6] = (h[6] + g) | 0;
  h[7] = (h[7] + k) | 0;
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
