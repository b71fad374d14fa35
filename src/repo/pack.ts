import type { Backend, ByteRange } from "../backend/mod.ts";
import { concatBytes, freeBytes } from "../fs/mod.ts";
import {
  deriveFileKey,
  fromUtf8,
  open,
  SALT_SIZE,
  seal,
  SEAL_OVERHEAD,
  sha256,
  toHex,
  utf8,
} from "../crypto/mod.ts";
import {
  encodeSegment,
  MAX_SEGMENT_PLAIN,
  type PackedMember,
  sealSegment,
  type SegmentMember,
} from "./blob_codec.ts";
import {
  type BlobType,
  blobTypeCode,
  blobTypeFromCode,
  CorruptError,
  fileAad,
  isId,
  PACK_MAGIC,
} from "./format.ts";

/** Where one blob sits in a pack: its segment's byte range, and its place in the segment. */
export type PackedBlob = PackedMember;

/** A durable pack and what it holds: the unit the index records. */
export interface PackInfo {
  name: string;
  salt: Uint8Array;
  size: number;
  blobs: PackedBlob[];
}

/** Packs are at most 4 GiB: offsets and lengths in them are 32-bit. */
export const MAX_PACK_BYTES = 0xffffffff;

/** Bytes in front of the first segment: magic ‖ salt. */
export const PACK_HEADER_SIZE = PACK_MAGIC.length + SALT_SIZE;

/** A blob at least this large gets a segment of its own. */
export const SEGMENT_ALONE = 256 * 1024;
/** Small blobs are gathered until their segment holds this much. */
export const SEGMENT_TARGET = 512 * 1024;
/**
 * The most blobs in a segment, and in a pack. Tiny files compress so well
 * that a pack of them could hold a whole tree's worth of blobs, and every
 * blob's entry waits in memory until its pack is written.
 */
export const SEGMENT_MAX_BLOBS = 4096;
export const PACK_MAX_BLOBS = 4 * SEGMENT_MAX_BLOBS;

/** Key of one pack, from its salt. */
export function packKey(masterEnc: Uint8Array, salt: Uint8Array): Promise<CryptoKey> {
  return deriveFileKey(masterEnc, salt, "pack");
}

/**
 * Where a {@link PackWriter} puts a sealed pack: a backend's data files
 * ({@link backendPackStore}), or, in a file-saver worker, the main thread,
 * which saves it through the repository's backend stack.
 */
export interface PackStore {
  /** Stores the pack durably; `bytes` may be detached (transferred) by the call. */
  savePack(pack: PackInfo, bytes: Uint8Array): Promise<void>;
}

/** Packs saved straight into `backend` as data files named by their hash. */
export function backendPackStore(backend: Pick<Backend, "save">): PackStore {
  return {
    savePack: (pack, bytes) =>
      backend.save("data", pack.name, bytes, {
        cacheRanges: treeSegments(pack),
        sha256: pack.name,
      }),
  };
}

/**
 * The ranges of a pack's segments that hold trees, as `Repository` loads
 * them (with `cache: true`): a caching backend keeps them when the pack is
 * saved, since the next backup's walk reads them all.
 */
export function treeSegments(pack: PackInfo): ByteRange[] {
  const ranges = new Map<number, ByteRange>();
  for (const b of pack.blobs) {
    if (b.type === "tree") ranges.set(b.offset, { offset: b.offset, length: b.length });
  }
  return [...ranges.values()];
}

export interface PackWriterOptions {
  /** Flush a pack once it reaches this many bytes. */
  targetSize: number;
  /** zstd level; 0 stores blobs uncompressed. */
  compressionLevel: number;
  /** Called after each pack is durable, before the next one starts. */
  onPack(pack: PackInfo): void | Promise<void>;
}

/** Small blobs of one type waiting to be sealed together. */
interface OpenSegment {
  type: BlobType;
  members: SegmentMember[];
  buf: Uint8Array;
  size: number;
}

/** A segment whose place in the pack is fixed; its sealing may still run. */
interface PlacedSegment {
  members: SegmentMember[];
  offset: number;
  length: number;
  sealed: Promise<Uint8Array>;
}

interface OpenPack {
  salt: Uint8Array;
  key: Promise<CryptoKey>;
  segments: PlacedSegment[];
  /** Bytes the pack will have up to the end of its last placed segment. */
  size: number;
  /** Blobs in the placed segments. */
  blobs: number;
}

/**
 * Collects blobs into pack files of about `targetSize` bytes. Small blobs of
 * one type are gathered into a segment of about {@link SEGMENT_TARGET}
 * bytes; a blob of {@link SEGMENT_ALONE} or more is a segment by itself.
 * Each segment is compressed, verified and sealed once (seals run
 * concurrently), and a pack ends with an encrypted trailer listing its
 * blobs, so the index can be rebuilt from the packs alone.
 */
export class PackWriter {
  #open: OpenPack | undefined;
  #segment: OpenSegment | undefined;
  #writing: Promise<void> = Promise.resolve();
  #backlog = 0;
  #failure: Error | undefined;
  /**
   * The last closed segment's buffer, for the next segment: encodeSegment
   * copies what it keeps, so a writer reuses one 768 KiB buffer instead of
   * leaving one behind for the collector per segment (in a file-saver
   * worker, about 6 MiB of garbage per 4 MiB pack).
   */
  #spare: Uint8Array | undefined;

  constructor(
    private readonly store: PackStore,
    private readonly masterEnc: Uint8Array,
    private readonly options: PackWriterOptions,
  ) {}

  /** The error that stopped pack writing, if one did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Full packs queued or being written. */
  get backlog(): number {
    return this.#backlog;
  }

  /**
   * Adds one blob without waiting: `plain` is copied or compressed before
   * this returns, so the caller may reuse it. A full pack is queued for
   * writing; callers bound memory by awaiting {@link drain} when
   * {@link backlog} grows. (Awaiting per blob costs an event-loop turn,
   * which measured slower than the compression itself in a worker.)
   */
  add(type: BlobType, id: string, plain: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    if (plain.length > MAX_SEGMENT_PLAIN) {
      throw new RangeError(`${type} blob ${id} is ${plain.length} bytes, above the 1 GiB limit`);
    }
    if (plain.length >= SEGMENT_ALONE) {
      this.#place(type, [{ type, id, at: 0, rawLength: plain.length }], plain);
      return;
    }
    let seg = this.#segment;
    if (seg && (seg.type !== type || seg.size + plain.length > seg.buf.length)) {
      this.#closeSegment();
      seg = undefined;
    }
    if (!seg) {
      seg = this.#segment = {
        type,
        members: [],
        buf: this.#spare ?? new Uint8Array(SEGMENT_TARGET + SEGMENT_ALONE),
        size: 0,
      };
      this.#spare = undefined;
    }
    seg.members.push({ type, id, at: seg.size, rawLength: plain.length });
    seg.buf.set(plain, seg.size);
    seg.size += plain.length;
    if (seg.size >= SEGMENT_TARGET || seg.members.length >= SEGMENT_MAX_BLOBS) {
      this.#closeSegment();
    }
  }

  /**
   * Adds a whole segment as {@link encodeSegment} made it (`payload`), its
   * blobs `members` back to back in its plaintext, without compressing it
   * again. For copies: the caller has checked that the payload opens to
   * exactly those blobs.
   */
  addEncoded(type: BlobType, members: SegmentMember[], payload: Uint8Array): void {
    if (this.#failure) throw this.#failure;
    this.#placePayload(type, members, payload);
  }

  /** Resolves when every queued pack is written; rejects if one failed. */
  async drain(): Promise<void> {
    await this.#writing;
    if (this.#failure) throw this.#failure;
  }

  /** Writes the open pack, if any, and waits for every queued one. */
  flush(): Promise<void> {
    this.#closeSegment();
    const pack = this.#open;
    this.#open = undefined;
    if (pack) this.#queue(pack);
    return this.drain();
  }

  #closeSegment(): void {
    const seg = this.#segment;
    if (!seg) return;
    this.#segment = undefined;
    this.#place(seg.type, seg.members, seg.buf.subarray(0, seg.size));
    this.#spare = seg.buf; // #place copied the bytes (encodeSegment never returns its input)
  }

  /** Compresses, verifies and places one segment; queues the pack once it is full. */
  #place(type: BlobType, members: SegmentMember[], plain: Uint8Array): void {
    this.#placePayload(type, members, encodeSegment(plain, this.options.compressionLevel), true);
  }

  /** `owned`: the payload is this writer's, freed once it is sealed. */
  #placePayload(
    type: BlobType,
    members: SegmentMember[],
    payload: Uint8Array,
    owned = false,
  ): void {
    const pack = this.#open ??= this.#newPack();
    const offset = pack.size;
    pack.segments.push({
      members,
      offset,
      length: payload.length + SEAL_OVERHEAD,
      sealed: pack.key.then(async (key) => {
        const sealed = await sealSegment(key, type, offset, payload);
        if (owned) freeBytes(payload);
        return sealed;
      }),
    });
    pack.size += payload.length + SEAL_OVERHEAD;
    pack.blobs += members.length;
    if (pack.size >= this.options.targetSize || pack.blobs >= PACK_MAX_BLOBS) {
      this.#open = undefined;
      this.#queue(pack);
    }
  }

  #queue(pack: OpenPack): void {
    this.#backlog++;
    this.#writing = this.#writing.then(async () => {
      try {
        if (!this.#failure) await this.#write(pack);
      } catch (err) {
        this.#failure = err as Error;
      } finally {
        this.#backlog--;
      }
    });
  }

  #newPack(): OpenPack {
    const salt = crypto.getRandomValues(new Uint8Array(SALT_SIZE));
    return {
      salt,
      key: packKey(this.masterEnc, salt),
      segments: [],
      size: PACK_HEADER_SIZE,
      blobs: 0,
    };
  }

  async #write({ salt, key, segments }: OpenPack): Promise<void> {
    const sealed = await Promise.all(segments.map((s) => s.sealed));
    const blobs: PackedBlob[] = [];
    segments.forEach(({ members, offset, length }, i) => {
      if (sealed[i].length !== length) throw new Error("a sealed segment has an unexpected size");
      for (const m of members) blobs.push({ ...m, offset, length });
    });
    const trailer = await seal(
      await key,
      utf8(JSON.stringify(encodeBlobList(blobs))),
      fileAad("pack"),
    );
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, trailer.length, true);
    const bytes = concatBytes([PACK_MAGIC, salt, ...sealed, trailer, len]);
    for (const part of sealed) freeBytes(part);
    const pack = { name: toHex(sha256(bytes)), salt, size: bytes.length, blobs };
    await this.store.savePack(pack, bytes);
    await this.options.onPack(pack);
  }
}

type BlobTuple = [string, string, number, number, number, number];

/** Compact JSON form of a blob list, shared by pack trailers and index files. */
export function encodeBlobList(blobs: readonly PackedBlob[]): BlobTuple[] {
  return blobs.map((b) => [blobTypeCode(b.type), b.id, b.offset, b.length, b.rawLength, b.at]);
}

/** Parses {@link encodeBlobList}'s form, validating every field; `what` names the source. */
export function decodeBlobList(raw: unknown, what: string): PackedBlob[] {
  if (!Array.isArray(raw)) throw new CorruptError(`${what}: blob list is not an array`);
  // No array or closure per blob: an index load runs this for every blob in the repository.
  const ok = (n: unknown) =>
    Number.isSafeInteger(n) && (n as number) >= 0 && n as number <= MAX_PACK_BYTES;
  return raw.map((t) => {
    if (
      !Array.isArray(t) || t.length !== 6 || !isId(t[1]) ||
      !ok(t[2]) || !ok(t[3]) || !ok(t[4]) || !ok(t[5]) ||
      t[2] + t[3] > MAX_PACK_BYTES
    ) {
      throw new CorruptError(`${what}: malformed blob entry ${JSON.stringify(t)}`);
    }
    return {
      type: blobTypeFromCode(t[0]),
      id: t[1],
      offset: t[2],
      length: t[3],
      rawLength: t[4],
      at: t[5],
    };
  });
}

/** Reads a pack's trailer: the blobs it says it holds, and its salt. */
export async function readPackTrailer(
  backend: Backend,
  masterEnc: Uint8Array,
  name: string,
): Promise<{ salt: Uint8Array; blobs: PackedBlob[] }> {
  const what = `pack "${name}"`;
  const head = await backend.load("data", name, { offset: 0, length: PACK_HEADER_SIZE });
  if (fromUtf8(head.subarray(0, PACK_MAGIC.length)) !== fromUtf8(PACK_MAGIC)) {
    throw new CorruptError(`${what} is damaged: bad magic`);
  }
  const salt = head.slice(PACK_MAGIC.length, PACK_HEADER_SIZE);
  const lenBytes = await backend.load("data", name, { offset: -4, length: 4 });
  const len = new DataView(lenBytes.buffer, lenBytes.byteOffset).getUint32(0, true);
  const { size } = await backend.stat("data", name);
  if (len < 28 || len > size - PACK_HEADER_SIZE - 4) {
    throw new CorruptError(`${what} is damaged: bad trailer length ${len}`);
  }
  const sealed = await backend.load("data", name, { offset: size - 4 - len, length: len });
  const key = await packKey(masterEnc, salt);
  let plain: Uint8Array;
  try {
    plain = await open(key, sealed, fileAad("pack"), what);
  } catch (err) {
    throw new CorruptError(`${what} is damaged: trailer does not authenticate`, { cause: err });
  }
  return { salt, blobs: decodeBlobList(JSON.parse(fromUtf8(plain)), what) };
}
