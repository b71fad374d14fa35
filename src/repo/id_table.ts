/**
 * A growable set of 32-byte ids kept as bytes, each with a row number
 * (0, 1, 2, ... in insertion order) that callers use to index arrays of
 * their own. About 40 bytes per id, against some 200 for a Map keyed by
 * hex strings: the index of a million-file backup is a few dozen MiB.
 *
 * Open addressing with linear probing; ids are keyed hashes, so their
 * first four bytes are already uniformly spread and serve as the hash.
 */
export class IdTable {
  #ids = new Uint8Array(32 * 1024);
  /** Row + 1 per slot, 0 for empty; never more than half full. */
  #slots = new Uint32Array(2048);
  #size = 0;

  /** Number of ids. */
  get size(): number {
    return this.#size;
  }

  /** The row of `id`, or -1. */
  find(id: Uint8Array): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let s = hashOf(id) & mask;; s = (s + 1) & mask) {
      const v = slots[s];
      if (v === 0) return -1;
      if (this.#equals(v - 1, id)) return v - 1;
    }
  }

  /** Adds `id` if absent; returns its row either way. */
  add(id: Uint8Array): number {
    const found = this.find(id);
    if (found !== -1) return found;
    const row = this.#size++;
    if (this.#ids.length < this.#size * 32) this.#ids = grownBytes(this.#ids);
    this.#ids.set(id.subarray(0, 32), row * 32);
    if (this.#size * 2 > this.#slots.length) this.#rehash(this.#slots.length * 2);
    else this.#place(row);
    return row;
  }

  /** The id in `row` (a view: copy it to keep it). */
  idAt(row: number): Uint8Array {
    return this.#ids.subarray(row * 32, row * 32 + 32);
  }

  /**
   * Every row, ordered by id bytes. Sorted natively by a 64-bit key of the
   * id's first four bytes and the row, then each run of equal first bytes
   * (rare: ids are keyed hashes) by the whole id: a comparator over every
   * pair took 450 ms of the main thread for 83,000 ids (the kernel tree's
   * update, CPU profile at load 11), before any file could be saved.
   */
  sortedRows(): Uint32Array {
    const n = this.#size;
    const ids = this.#ids;
    const view = new DataView(ids.buffer, ids.byteOffset);
    const byId = (a: number, b: number) => {
      for (let i = 0; i < 32; i += 4) {
        const d = view.getUint32(a * 32 + i) - view.getUint32(b * 32 + i);
        if (d !== 0) return d;
      }
      return 0;
    };
    const rows = new Uint32Array(n);
    if (!LITTLE_ENDIAN) {
      for (let i = 0; i < n; i++) rows[i] = i;
      return rows.sort(byId);
    }
    const keys = new BigUint64Array(n);
    const words = new Uint32Array(keys.buffer); // per key: the row, then the high word
    for (let i = 0; i < n; i++) {
      words[2 * i] = i;
      words[2 * i + 1] = view.getUint32(i * 32);
    }
    keys.sort();
    for (let i = 0; i < n; i++) rows[i] = words[2 * i];
    for (let i = 0; i < n;) {
      let j = i + 1;
      while (j < n && words[2 * j + 1] === words[2 * i + 1]) j++;
      if (j - i > 1) rows.subarray(i, j).sort(byId);
      i = j;
    }
    return rows;
  }

  #equals(row: number, id: Uint8Array): boolean {
    const ids = this.#ids;
    const base = row * 32;
    for (let i = 0; i < 32; i++) if (ids[base + i] !== id[i]) return false;
    return true;
  }

  #place(row: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let s = hashOf(this.#ids, row * 32) & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    slots[s] = row + 1;
  }

  #rehash(slotCount: number): void {
    this.#slots.buffer.transfer(0); // freed now: rows are placed again from the ids
    this.#slots = new Uint32Array(slotCount);
    for (let row = 0; row < this.#size; row++) this.#place(row);
  }
}

/**
 * `bytes` in a buffer twice as long, the old one freed at once: `transfer`
 * detaches it, where a copy left it to the next collection. On a million-file
 * backup the main thread's index (the ids, the slots and the index's columns)
 * left some 30 MiB of dead tables waiting beside 61 MiB of live ones when it
 * grew past 524,288 blobs, and each saver's table of what it stored 12 MiB. The
 * new buffer's tail is zeros that take memory only once written.
 */
export function grownBytes<T extends Uint8Array | Uint32Array>(bytes: T): T {
  const buffer = (bytes.buffer as ArrayBuffer).transfer(bytes.buffer.byteLength * 2);
  return new (bytes.constructor as new (b: ArrayBuffer) => T)(buffer);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Values of hex digits by char code (lowercase only, as ids are written); -1 elsewhere. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX["0123456789abcdef".charCodeAt(i)] = i;

/**
 * Parses a 64-digit lowercase hex id into `out` without allocating;
 * false (and `out` undefined) if `hex` is not such an id.
 */
export function hexInto(hex: string, out: Uint8Array): boolean {
  if (hex.length !== 64) return false;
  for (let i = 0; i < 32; i++) {
    const hi = HEX[hex.charCodeAt(2 * i)] ?? -1;
    const lo = HEX[hex.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) return false;
    out[i] = (hi << 4) | lo;
  }
  return true;
}

function hashOf(bytes: Uint8Array, at = 0): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}
