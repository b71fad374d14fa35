import { type Backend, NotFoundError } from "../backend/mod.ts";
import { fromBase64, toBase64, toHex } from "../crypto/mod.ts";
import { grownBytes, hexInto, IdTable } from "./id_table.ts";
import { type BlobType, CorruptError, isId } from "./format.ts";
import { decodeBlobList, encodeBlobList, MAX_PACK_BYTES, type PackedBlob } from "./pack.ts";
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
 * Memory: about 60 bytes per blob (ids as bytes in an {@link IdTable},
 * places in typed arrays), so a million-blob repository takes some 60 MiB.
 */
export class MasterIndex {
  #ids = new IdTable();
  #scratch = new Uint8Array(32);
  #packOf = new Uint32Array(1024);
  #offset = new Uint32Array(1024);
  #length = new Uint32Array(1024);
  #rawLength = new Uint32Array(1024);
  #at = new Uint32Array(1024);
  #isTree = new Uint8Array(1024);
  #packs: PackRef[] = [];
  #packNos = new Map<string, number>();
  /** Blobs of packs prune dropped but has not deleted yet: readable, never reused (rule 3). */
  #dropped = new Map<string, IndexEntry>();

  /** Number of distinct blobs. */
  get size(): number {
    return this.#ids.size;
  }

  /** Adds every blob of a pack. */
  addPack(pack: PackEntry): void {
    let no = this.#packNos.get(pack.name);
    if (no === undefined) {
      no = this.#packs.length;
      this.#packs.push({ name: pack.name, salt: pack.salt });
      this.#packNos.set(pack.name, no);
    }
    for (const b of pack.blobs) {
      if (b.offset + b.length > MAX_PACK_BYTES || b.at + b.rawLength > MAX_PACK_BYTES) {
        throw new RangeError(`pack ${pack.name}: blob ${b.id} lies beyond 4 GiB`);
      }
      const before = this.#ids.size;
      if (!hexInto(b.id, this.#scratch)) throw new TypeError(`not a blob id: ${b.id}`);
      const row = this.#ids.add(this.#scratch);
      if (row < before) continue; // the first place seen stays
      if (row >= this.#packOf.length) this.#grow();
      this.#packOf[row] = no;
      this.#offset[row] = b.offset;
      this.#length[row] = b.length;
      this.#rawLength[row] = b.rawLength;
      this.#at[row] = b.at;
      this.#isTree[row] = b.type === "tree" ? 1 : 0;
    }
  }

  /**
   * Records a pack that prune took out of the index but has not deleted.
   * Its blobs stay readable through {@link get}, for a snapshot written by
   * a backup that started before the prune, but {@link has} and
   * {@link sortedIds} ignore them so no new snapshot comes to depend on them
   * (docs/PRUNE.md rule 3).
   */
  addDroppedPack(pack: PackEntry): void {
    const ref = { name: pack.name, salt: pack.salt };
    for (const b of pack.blobs) {
      if (this.#dropped.has(b.id)) continue;
      const { type, offset, length, rawLength, at } = b;
      this.#dropped.set(b.id, { pack: ref, type, offset, length, rawLength, at });
    }
  }

  /** Names of the packs {@link addDroppedPack} recorded. */
  droppedPacks(): Set<string> {
    return new Set([...this.#dropped.values()].map((e) => e.pack.name));
  }

  /** Where blob `id` is, if anywhere (dropped packs last). */
  get(id: string): IndexEntry | undefined {
    const row = hexInto(id, this.#scratch) ? this.#ids.find(this.#scratch) : -1;
    return row === -1 ? this.#dropped.get(id) : this.#entry(row);
  }

  /** Is blob `id` stored? */
  has(id: string): boolean {
    return hexInto(id, this.#scratch) && this.#ids.find(this.#scratch) !== -1;
  }

  /** Every pack the index refers to. */
  packs(): IterableIterator<PackRef> {
    return this.#packs.values();
  }

  /** Every (id, entry) pair. */
  *entries(): IterableIterator<[string, IndexEntry]> {
    for (let row = 0; row < this.#ids.size; row++) {
      yield [toHex(this.#ids.idAt(row)), this.#entry(row)];
    }
  }

  /**
   * Every blob id, sorted, as 32-byte records in shared memory: workers
   * binary-search it to skip compressing and encrypting known blobs without
   * each holding a copy of the index.
   */
  sortedIds(): SharedArrayBuffer {
    const rows = this.#ids.sortedRows();
    const sab = new SharedArrayBuffer(rows.length * 32);
    const view = new Uint8Array(sab);
    rows.forEach((row, i) => view.set(this.#ids.idAt(row), i * 32));
    return sab;
  }

  #entry(row: number): IndexEntry {
    return {
      pack: this.#packs[this.#packOf[row]],
      type: this.#isTree[row] ? "tree" : "data",
      offset: this.#offset[row],
      length: this.#length[row],
      rawLength: this.#rawLength[row],
      at: this.#at[row],
    };
  }

  #grow(): void {
    this.#packOf = grownBytes(this.#packOf);
    this.#offset = grownBytes(this.#offset);
    this.#length = grownBytes(this.#length);
    this.#rawLength = grownBytes(this.#rawLength);
    this.#at = grownBytes(this.#at);
    this.#isTree = grownBytes(this.#isTree);
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
  opts: { onDamaged?: (name: string, err: CorruptError) => void } = {},
): Promise<{ index: MasterIndex; files: string[]; listed: string[]; damaged: string[] }> {
  // A prune writes the index that supersedes old ones before it removes
  // them, so an index file gone between listing and loading means a newer
  // one is there now: list again (keeping what was read), a few times.
  type IndexFile = Awaited<ReturnType<typeof loadIndexFile>>;
  const cache = new Map<string, IndexFile | "damaged">();
  for (let round = 1;; round++) {
    const names: string[] = [];
    for await (const f of backend.list("index")) names.push(f.name);
    let vanished = false;
    const loaded = await mapLimit(names, 8, async (n) => {
      const cached = cache.get(n);
      if (cached) return cached === "damaged" ? undefined : cached;
      try {
        const file = await loadIndexFile(backend, masterEnc, n);
        cache.set(n, file);
        return file;
      } catch (err) {
        if (err instanceof NotFoundError && round < INDEX_RELIST_ROUNDS) {
          vanished = true;
          return undefined;
        }
        if (!(err instanceof CorruptError) || !opts.onDamaged) throw err;
        cache.set(n, "damaged");
        opts.onDamaged(n, err);
        return undefined;
      }
    });
    if (vanished) continue;
    const damaged = names.filter((n) => cache.get(n) === "damaged");
    const superseded = new Set(loaded.flatMap((f) => f?.supersedes ?? []));
    const index = new MasterIndex();
    const files: string[] = [];
    loaded.forEach((file, i) => {
      if (!file || superseded.has(names[i])) return;
      files.push(names[i]);
      for (const p of file.packs) index.addPack(p);
      for (const p of file.dropped) index.addDroppedPack(p);
    });
    return { index, files, listed: names, damaged };
  }
}

/** How many listings {@link loadMasterIndex} tries while index files vanish under it. */
const INDEX_RELIST_ROUNDS = 5;

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
