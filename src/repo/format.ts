/**
 * Constants and small codecs of the on-disk format (see docs/FORMAT.md).
 */
import { concatBytes, fromHex, utf8 } from "../crypto/mod.ts";

/** The two kinds of blob: file content and directory listings. */
export type BlobType = "data" | "tree";

/** One-letter form of a blob type, as stored in index and pack headers. */
export function blobTypeCode(t: BlobType): "d" | "t" {
  return t === "data" ? "d" : "t";
}

/** The blob type of a one-letter code; throws on anything else. */
export function blobTypeFromCode(c: string): BlobType {
  if (c === "d") return "data";
  if (c === "t") return "tree";
  throw new TypeError(`Unknown blob type code "${c}"`);
}

/** First 8 bytes of every pack file. */
export const PACK_MAGIC = utf8("CAIRNPK\x01");

/** Blob plaintext flag byte: stored as is. */
export const FLAG_RAW = 0;
/** Blob plaintext flag byte: zstd-compressed. */
export const FLAG_ZSTD = 1;

const BLOB_AAD_PREFIX = utf8("cairn v1 blob ");

/**
 * What each blob's encryption binds in: its type and id, so a blob moved to
 * another place, or offered under another id, fails authentication.
 */
export function blobAad(type: BlobType, id: string): Uint8Array {
  return concatBytes([BLOB_AAD_PREFIX, utf8(blobTypeCode(type)), fromHex(id)]);
}

/** What a whole-file object's encryption binds in: the kind of file. */
export function fileAad(kind: string): Uint8Array {
  return utf8(`cairn v1 file ${kind}`);
}

/** Is `s` a 64-character lowercase hex id? */
export function isId(s: unknown): s is string {
  if (typeof s !== "string" || s.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** The repository (or one of its files) is damaged. */
export class CorruptError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CorruptError";
  }
}
