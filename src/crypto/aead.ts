import { hkdfSync } from "node:crypto";

/** Bytes of random nonce in front of every sealed object. */
export const NONCE_SIZE = 12;
/** Bytes of GCM authentication tag behind every sealed object. */
export const TAG_SIZE = 16;
/** What sealing adds to a plaintext's length. */
export const SEAL_OVERHEAD = NONCE_SIZE + TAG_SIZE;
/** Bytes of the random salt that selects a per-file key. */
export const SALT_SIZE = 16;

/** Authentication failed: the data was damaged, swapped, or the key is wrong. */
export class AuthError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AuthError";
  }
}

/**
 * Derives an AES-256-GCM key for one file (a pack, an index, a snapshot)
 * from the master encryption key and the file's random salt.
 *
 * Random 96-bit nonces under one key are safe for about 2^32 messages; a
 * fresh key per file keeps every key far below that however large the
 * repository grows, without any counter shared between hosts.
 */
export function deriveFileKey(
  masterEnc: Uint8Array,
  salt: Uint8Array,
  purpose: string,
): Promise<CryptoKey> {
  const raw = new Uint8Array(hkdfSync("sha256", masterEnc, salt, `cairn v1 ${purpose}`, 32));
  return crypto.subtle.importKey("raw", raw as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/** Encrypts and authenticates `plaintext` with `aad` bound in: nonce ‖ ciphertext ‖ tag. */
export async function seal(
  key: CryptoKey,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
  const ct = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: aad as BufferSource },
    key,
    plaintext as BufferSource,
  );
  const out = new Uint8Array(NONCE_SIZE + ct.byteLength);
  out.set(nonce, 0);
  out.set(new Uint8Array(ct), NONCE_SIZE);
  // Freed now, not at the next collection: a file-saver worker seals a
  // pack's worth of these per pack.
  ct.transfer(0);
  return out;
}

/** Decrypts what {@link seal} made; throws {@link AuthError} if anything does not match. */
export async function open(
  key: CryptoKey,
  sealed: Uint8Array,
  aad: Uint8Array,
  what = "object",
): Promise<Uint8Array> {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new AuthError(`Cannot decrypt ${what}: ${sealed.length} bytes is too short`);
  }
  try {
    const pt = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: sealed.subarray(0, NONCE_SIZE) as BufferSource,
        additionalData: aad as BufferSource,
      },
      key,
      sealed.subarray(NONCE_SIZE) as BufferSource,
    );
    return new Uint8Array(pt);
  } catch (err) {
    throw new AuthError(`Cannot decrypt ${what}: authentication failed (damaged or tampered)`, {
      cause: err,
    });
  }
}
