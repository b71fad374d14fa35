/**
 * Segments: the sealed units inside a pack. A segment holds one large blob
 * or many small ones of one type, concatenated, compressed together and
 * encrypted once, so the per-call costs of zstd and AES-GCM are paid per
 * segment rather than per small file (see docs/FORMAT.md).
 */
import { Buffer } from "node:buffer";
import { constants, zstdCompressSync, zstdDecompressSync } from "node:zlib";
import { AuthError, equalBytes, fromHex, keyedId, open, seal } from "../crypto/mod.ts";
import { nativeGarbage } from "../platform/mod.ts";
import { type BlobType, CorruptError, FLAG_RAW, FLAG_ZSTD, segmentAad } from "./format.ts";

/** zlib's default output chunk. */
const DEFAULT_CHUNK = 16 * 1024;

/** Segments smaller than this are stored raw: zstd's frame costs more than it saves. */
const MIN_COMPRESS = 64;

/**
 * The most plaintext a segment may decompress to. Data blobs are at most the
 * chunker's maximum (64 MiB at most), but a tree blob lists a whole directory
 * and grows with it (about 250 bytes an entry), so the bound is far above
 * both. Segments are authenticated before they are decompressed, so only a
 * holder of the key could make one inflate without end; the bound is a
 * backstop, and writers refuse larger blobs.
 */
export const MAX_SEGMENT_PLAIN = 1024 * 1024 * 1024;

/** A blob's place in its segment's plaintext. */
export interface SegmentMember {
  type: BlobType;
  id: string;
  /** Offset of the blob in the segment's plaintext. */
  at: number;
  rawLength: number;
}

/**
 * Compresses `plain` with zstd when that makes it smaller, checking that the
 * compressed form decompresses to exactly `plain` before it is trusted.
 * Returns the flag byte and payload that become the segment's plaintext.
 */
export function encodeSegment(plain: Uint8Array, level: number): Uint8Array {
  if (level > 0 && plain.length >= MIN_COMPRESS) {
    // Each call gets one output chunk of about the size it needs, where zlib's
    // default 16 KiB chunks are each a fresh allocation, then joined into
    // another: zstd's output is half of a segment or less unless the data is
    // already compressed (then a second chunk is joined), and the check's
    // output must be exactly `plain`, so one byte more than that is already a
    // mismatch (zstd wants a byte to spare to see the end).
    const z = zstdCompressSync(plain, {
      params: { [constants.ZSTD_c_compressionLevel]: level },
      chunkSize: Math.max(DEFAULT_CHUNK, (plain.length >>> 1) + 1024),
    });
    if (z.length + 1 < plain.length) {
      const want = plain.length + 1;
      let back: Uint8Array | undefined;
      try {
        back = zstdDecompressSync(z, {
          chunkSize: Math.max(DEFAULT_CHUNK, want),
          maxOutputLength: want,
        });
      } catch {
        back = undefined; // more output than `plain` holds: not a round trip
      }
      const same = back !== undefined && Buffer.compare(back, plain) === 0;
      // The outputs hold their whole chunks, not only the bytes they return.
      nativeGarbage((back?.buffer.byteLength ?? 0) + z.buffer.byteLength);
      if (!same) {
        throw new Error("zstd round trip does not reproduce the data; refusing to store it");
      }
      const out = new Uint8Array(z.length + 1);
      out[0] = FLAG_ZSTD;
      out.set(z, 1);
      return out;
    }
    nativeGarbage(z.buffer.byteLength);
  }
  const out = new Uint8Array(plain.length + 1);
  out[0] = FLAG_RAW;
  out.set(plain, 1);
  return out;
}

/** Seals an {@link encodeSegment} payload for its place: blob type and offset in the pack. */
export function sealSegment(
  key: CryptoKey,
  type: BlobType,
  offset: number,
  payload: Uint8Array,
): Promise<Uint8Array> {
  return seal(key, payload, segmentAad(type, offset));
}

/**
 * Opens a stored segment and returns its plaintext (every member blob,
 * concatenated). `what` names it in errors, e.g. the blob being read;
 * `maxPlain` bounds what it may decompress to. `plainHint` is the length
 * of the plaintext if known, or where the last blob wanted ends: zstd then
 * decompresses into one buffer of that size, where its default 16 KiB
 * chunks cost a quarter more CPU time, allocated and then joined (a 286 KiB
 * segment of kernel source: 300-330 µs against 425-475 µs).
 */
export async function openSegment(
  key: CryptoKey,
  type: BlobType,
  offset: number,
  sealed: Uint8Array,
  what: string,
  maxPlain = MAX_SEGMENT_PLAIN,
  plainHint?: number,
): Promise<Uint8Array> {
  return (await openSegmentPayload(key, type, offset, sealed, what, maxPlain, plainHint)).plain;
}

/**
 * {@link openSegment}, also returning the payload (flag byte and data as
 * stored): a copy that keeps the segment whole stores it again as it is,
 * without compressing it a second time.
 */
export async function openSegmentPayload(
  key: CryptoKey,
  type: BlobType,
  offset: number,
  sealed: Uint8Array,
  what: string,
  maxPlain = MAX_SEGMENT_PLAIN,
  plainHint?: number,
): Promise<{ payload: Uint8Array; plain: Uint8Array }> {
  let payload: Uint8Array;
  try {
    payload = await open(key, sealed, segmentAad(type, offset), what);
  } catch (err) {
    if (err instanceof AuthError) {
      throw new CorruptError(`${what} is damaged: authentication failed`, { cause: err });
    }
    throw err;
  }
  if (payload[0] === FLAG_RAW) return { payload, plain: payload.subarray(1) };
  if (payload[0] !== FLAG_ZSTD) throw new CorruptError(`${what} has unknown flag ${payload[0]}`);
  try {
    // One byte past the hint (output that fills the buffer exactly makes zstd add
    // another), and never below the default: a low hint must not mean tiny chunks.
    const chunkSize = plainHint === undefined
      ? undefined
      : Math.max(DEFAULT_CHUNK, Math.min(maxPlain, plainHint + 1));
    const plain = zstdDecompressSync(payload.subarray(1), { maxOutputLength: maxPlain, chunkSize });
    nativeGarbage(plain.length);
    return { payload, plain: new Uint8Array(plain.buffer, plain.byteOffset, plain.length) };
  } catch (err) {
    throw new CorruptError(`${what} is damaged: cannot decompress`, { cause: err });
  }
}

/** Takes one blob out of its segment's plaintext, checking that it hashes to its id. */
export function extractBlob(
  idKey: Uint8Array,
  segment: Uint8Array,
  blob: SegmentMember,
): Uint8Array {
  const what = `${blob.type} blob ${blob.id}`;
  if (blob.at + blob.rawLength > segment.length) {
    throw new CorruptError(`${what} is damaged: its segment ends before the blob does`);
  }
  const plain = segment.subarray(blob.at, blob.at + blob.rawLength);
  if (!equalBytes(keyedId(idKey, plain), fromHex(blob.id))) {
    throw new CorruptError(`${what} is damaged: content does not match its id`);
  }
  return plain;
}

/** Opens the segment at `sealed` and returns `blob` from it, verified. */
export async function openBlob(
  key: CryptoKey,
  idKey: Uint8Array,
  blob: SegmentMember & { offset: number },
  sealed: Uint8Array,
): Promise<Uint8Array> {
  const what = `${blob.type} blob ${blob.id}`;
  return extractBlob(idKey, await openSegment(key, blob.type, blob.offset, sealed, what), blob);
}

/** One blob's place in a whole pack: its segment's range and its place there. */
export interface PackedMember extends SegmentMember {
  offset: number;
  length: number;
}

/**
 * Visits every blob of a pack read whole, opening each segment once: `visit`
 * gets each blob's verified plaintext, or the error that kept it from being
 * read (a damaged segment fails every blob in it).
 */
export async function forEachBlob<B extends PackedMember>(
  key: CryptoKey,
  idKey: Uint8Array,
  pack: Uint8Array,
  blobs: readonly B[],
  visit: (blob: B, plain: Uint8Array | Error) => void | Promise<void>,
): Promise<void> {
  const segments = new Map<number, B[]>();
  for (const b of blobs) {
    const members = segments.get(b.offset);
    if (members) members.push(b);
    else segments.set(b.offset, [b]);
  }
  for (const [offset, members] of segments) {
    const first = members[0];
    let segment: Uint8Array | Error;
    if (members.some((b) => b.length !== first.length || b.type !== first.type)) {
      segment = new CorruptError(`segment at ${offset} is listed with differing lengths or types`);
    } else if (offset + first.length > pack.length) {
      segment = new CorruptError(
        `segment at ${offset} is cut off: the pack ends at byte ${pack.length}`,
      );
    } else {
      const sealed = pack.subarray(offset, offset + first.length);
      const what = members.length === 1 ? `${first.type} blob ${first.id}` : `segment at ${offset}`;
      segment = await openSegment(key, first.type, offset, sealed, what).catch((e) => e as Error);
    }
    for (const b of members) {
      let plain: Uint8Array | Error = segment;
      if (!(segment instanceof Error)) {
        try {
          plain = extractBlob(idKey, segment, b);
        } catch (err) {
          plain = err as Error;
        }
      }
      await visit(b, plain);
    }
  }
}
