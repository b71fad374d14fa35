import type { Backend } from "../backend/mod.ts";
import { fromBase64, fromHex, toBase64 } from "../crypto/mod.ts";
import { type BlobType, CorruptError, isId } from "./format.ts";
import { decodeBlobList, encodeBlobList, type PackedBlob } from "./pack.ts";
import { loadSealedJson, saveSealedJson } from "./sealed_file.ts";

/** A pack as the index knows it: enough to fetch and decrypt its blobs. */
export interface PackRef {
  name: string;
  salt: Uint8Array;
}

/** Where the index says a blob is. */
export interface IndexEntry {
  pack: PackRef;
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
  /** Offset of the blob in its segment's plaintext. */
  at: number;
}

/**
 * The in-memory map from blob id to its place in a pack, merged from every
 * index file. When a blob is stored twice (two hosts, or two workers, saved
 * it at once) the first place seen is used and both are valid.
 *
 * Memory: about 200 bytes per blob (a Map entry with a 64-character key).
 */
export class MasterIndex {
  #byId = new Map<string, IndexEntry>();
  #packs = new Map<string, PackRef>();
  /** Blobs of packs prune dropped but has not deleted yet: readable, never reused. */
  #dropped = new Map<string, IndexEntry>();

  /** Number of distinct blobs. */
  get size(): number {
    return this.#byId.size;
  }

  /** Adds every blob of a pack. */
  addPack(pack: PackEntry): void {
    let ref = this.#packs.get(pack.name);
    if (!ref) {
      ref = { name: pack.name, salt: pack.salt };
      this.#packs.set(pack.name, ref);
    }
    addBlobs(this.#byId, ref, pack.blobs);
  }

  /**
   * Records a pack that prune took out of the index but has not deleted.
   * Its blobs stay readable through {@link get}, for a snapshot written by
   * a backup that started before the prune, but {@link has} and
   * {@link sortedIds} ignore them so no new snapshot comes to depend on them.
   */
  addDroppedPack(pack: PackEntry): void {
    addBlobs(this.#dropped, { name: pack.name, salt: pack.salt }, pack.blobs);
  }

  /** Where blob `id` is, if anywhere (dropped packs last). */
  get(id: string): IndexEntry | undefined {
    return this.#byId.get(id) ?? this.#dropped.get(id);
  }

  /** Is blob `id` stored? */
  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Every pack the index refers to. */
  packs(): IterableIterator<PackRef> {
    return this.#packs.values();
  }

  /** Every (id, entry) pair. */
  entries(): IterableIterator<[string, IndexEntry]> {
    return this.#byId.entries();
  }

  /**
   * Every blob id, sorted, as 32-byte records in shared memory: workers
   * binary-search it to skip compressing and encrypting known blobs without
   * each holding a copy of the index.
   */
  sortedIds(): SharedArrayBuffer {
    const ids = [...this.#byId.keys()].sort();
    const sab = new SharedArrayBuffer(ids.length * 32);
    const view = new Uint8Array(sab);
    ids.forEach((id, i) => view.set(fromHex(id), i * 32));
    return sab;
  }
}

/** Adds the blobs not yet in `map`, each pointing into `pack`. */
function addBlobs(map: Map<string, IndexEntry>, pack: PackRef, blobs: readonly PackedBlob[]) {
  for (const b of blobs) {
    if (map.has(b.id)) continue;
    map.set(b.id, {
      pack,
      type: b.type,
      offset: b.offset,
      length: b.length,
      rawLength: b.rawLength,
      at: b.at,
    });
  }
}

interface PackJson {
  id: string;
  salt: string;
  blobs: unknown;
}

interface IndexFileJson {
  v: 1;
  supersedes?: string[];
  packs: PackJson[];
  /** Written by prune: packs out of the index, awaiting deletion. */
  dropped?: (PackJson & { dropped_at: number })[];
}

/** A pack and its blobs, as an index file lists it. */
export interface PackEntry {
  name: string;
  salt: Uint8Array;
  blobs: PackedBlob[];
}

/** A pack a prune took out of the index at `droppedAt` (ms), kept until its grace is over. */
export interface DroppedPack extends PackEntry {
  droppedAt: number;
}

function packJson(p: PackEntry): PackJson {
  return { id: p.name, salt: toBase64(p.salt), blobs: encodeBlobList(p.blobs) };
}

/** Writes one index file describing `packs`; returns its name. */
export function saveIndexFile(
  backend: Backend,
  masterEnc: Uint8Array,
  packs: readonly PackEntry[],
  supersedes: readonly string[] = [],
  dropped: readonly DroppedPack[] = [],
): Promise<string> {
  const json: IndexFileJson = { v: 1, packs: packs.map(packJson) };
  if (supersedes.length > 0) json.supersedes = [...supersedes];
  if (dropped.length > 0) {
    json.dropped = dropped.map((d) => ({ ...packJson(d), dropped_at: d.droppedAt }));
  }
  return saveSealedJson(backend, masterEnc, "index", json);
}

/** Reads and validates one index file. */
export async function loadIndexFile(
  backend: Backend,
  masterEnc: Uint8Array,
  name: string,
): Promise<{ supersedes: string[]; packs: PackEntry[]; dropped: DroppedPack[] }> {
  const what = `index file "${name}"`;
  const json = await loadSealedJson(backend, masterEnc, "index", name) as IndexFileJson;
  if (json?.v !== 1 || !Array.isArray(json.packs)) throw new CorruptError(`${what} is malformed`);
  const supersedes = json.supersedes ?? [];
  if (!Array.isArray(supersedes) || !supersedes.every(isId)) {
    throw new CorruptError(`${what} has a malformed supersedes list`);
  }
  const pack = (p: PackJson): PackEntry => {
    if (!isId(p?.id) || typeof p.salt !== "string") {
      throw new CorruptError(`${what} has a malformed pack entry`);
    }
    return { name: p.id, salt: fromBase64(p.salt), blobs: decodeBlobList(p.blobs, what) };
  };
  const dropped = json.dropped ?? [];
  if (!Array.isArray(dropped)) throw new CorruptError(`${what} has a malformed dropped list`);
  return {
    supersedes,
    packs: json.packs.map(pack),
    dropped: dropped.map((d): DroppedPack => {
      if (!Number.isSafeInteger(d?.dropped_at)) {
        throw new CorruptError(`${what} has a malformed dropped entry`);
      }
      return { ...pack(d), droppedAt: d.dropped_at };
    }),
  };
}

/**
 * Loads every index file into a new MasterIndex, skipping files that a
 * newer index file supersedes (prune writes those). Returns the names of
 * the files in use too.
 */
export async function loadMasterIndex(
  backend: Backend,
  masterEnc: Uint8Array,
): Promise<{ index: MasterIndex; files: string[]; listed: string[] }> {
  const names: string[] = [];
  for await (const f of backend.list("index")) names.push(f.name);
  const loaded = await mapLimit(names, 8, (n) => loadIndexFile(backend, masterEnc, n));
  const superseded = new Set(loaded.flatMap((f) => f.supersedes));
  const index = new MasterIndex();
  const files: string[] = [];
  loaded.forEach((file, i) => {
    if (superseded.has(names[i])) return;
    files.push(names[i]);
    for (const p of file.packs) index.addPack(p);
    for (const p of file.dropped) index.addDroppedPack(p);
  });
  return { index, files, listed: names };
}

/** Maps `items` through `fn` with at most `limit` calls in flight, keeping order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
