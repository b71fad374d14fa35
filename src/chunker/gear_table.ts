import { createHmac } from "node:crypto";

/** Shortest secret accepted: 256 bits, so the table cannot be brute-forced. */
const MIN_SEED_BYTES = 32;
/** Domain separation, so the same repository secret can key other derivations safely. */
const LABEL = new TextEncoder().encode("cairn chunker gear table v1");

/**
 * Derives the chunker's 256-entry gear table from a per-repository secret.
 *
 * A public table would let anyone holding a repository's chunk sizes test
 * whether it contains a known file; keying the table on a secret means the
 * boundaries depend on something an observer does not have. (This is a
 * mitigation, not a proof: someone who can get chosen data backed up into the
 * repository and watch the resulting chunk sizes learns about the table.)
 * Entries are HMAC-SHA-256(seed, label || counter) in counter mode, read
 * big-endian, eight per block, so the derivation is easy to reimplement.
 */
export function gearTable(seed: Uint8Array): Uint32Array {
  if (!(seed instanceof Uint8Array) || seed.length < MIN_SEED_BYTES) {
    throw new RangeError(
      `Cannot derive gear table: seed must be at least ${MIN_SEED_BYTES} bytes`,
    );
  }
  const table = new Uint32Array(256);
  const msg = new Uint8Array(LABEL.length + 4);
  msg.set(LABEL);
  const msgView = new DataView(msg.buffer);
  for (let block = 0; block < 256 / 8; block++) {
    msgView.setUint32(LABEL.length, block);
    const digest = createHmac("sha256", seed).update(msg).digest();
    const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
    for (let j = 0; j < 8; j++) table[block * 8 + j] = view.getUint32(j * 4);
  }
  return table;
}
