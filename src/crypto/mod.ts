/**
 * Cryptography for cairn: per-file AES-256-GCM keys derived from a random
 * master key, keyed blob ids, and password-protected key files (Argon2id).
 *
 * @module
 */
export * from "./aead.ts";
export * from "./encoding.ts";
export * from "./hash.ts";
export * from "./master_key.ts";
