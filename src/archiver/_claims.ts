/**
 * The blob ids the file-saver workers of one backup have taken to store,
 * shared by all of them (a SharedArrayBuffer): a worker stores a new blob
 * only if it is the first to claim its id, so a blob two workers meet (the
 * same chunk in two files, or in two parts of one big file hashed by
 * different workers) is stored once.
 *
 * Open addressing over a fixed number of slots, each a state word (empty,
 * being written, written) and the 32-byte id. When the table is three
 * quarters full, {@link ClaimTable.claim} answers `undefined` and the
 * worker falls back to its own record of what it stored: a blob may then
 * be stored twice, never not at all.
 */

const EMPTY = 0;
const WRITING = 1;
const WRITTEN = 2;

/** Slots by default: 4 MiB of ids (touched only as ids come), room for ~98,000 blobs. */
export const CLAIM_SLOTS = 1 << 17;

export class ClaimTable {
  readonly #state: Int32Array;
  readonly #ids: Uint8Array;
  readonly #limit: number;

  /** A view of `buffer`, which {@link ClaimTable.create} made. */
  constructor(readonly buffer: SharedArrayBuffer) {
    const slots = (buffer.byteLength - 4) / 36;
    if (!Number.isInteger(slots) || slots < 2 || (slots & (slots - 1)) !== 0) {
      throw new RangeError(`claim table of ${buffer.byteLength} bytes is not 4 + 36 * 2^k`);
    }
    // The last word counts the ids written.
    this.#state = new Int32Array(buffer, 0, slots + 1);
    this.#ids = new Uint8Array(buffer, (slots + 1) * 4, slots * 32);
    this.#limit = (slots >> 2) * 3;
  }

  /** An empty table of `slots` slots (a power of two). */
  static create(slots = CLAIM_SLOTS): ClaimTable {
    return new ClaimTable(new SharedArrayBuffer(4 + 36 * slots));
  }

  /**
   * Claims `id`: true if this caller is the first (it must now store the
   * blob), false if another caller claimed it before, `undefined` if the
   * table is too full to say.
   */
  claim(id: Uint8Array): boolean | undefined {
    const state = this.#state;
    const ids = this.#ids;
    const slots = state.length - 1;
    const mask = slots - 1;
    // Ids are HMAC outputs: their first bytes are already uniform.
    let s = ((id[0] | (id[1] << 8) | (id[2] << 16) | (id[3] << 24)) >>> 0) & mask;
    for (let probes = 0; probes < slots; probes++, s = (s + 1) & mask) {
      let st = Atomics.load(state, s);
      if (st === EMPTY) {
        if (Atomics.load(state, slots) >= this.#limit) return undefined;
        st = Atomics.compareExchange(state, s, EMPTY, WRITING);
        if (st === EMPTY) {
          ids.set(id.subarray(0, 32), s * 32);
          Atomics.add(state, slots, 1);
          Atomics.store(state, s, WRITTEN);
          return true;
        }
      }
      // Another worker is writing this slot's id: a copy of 32 bytes.
      while (st === WRITING) st = Atomics.load(state, s);
      if (equalAt(ids, s * 32, id)) return false;
    }
    return undefined;
  }
}

function equalAt(ids: Uint8Array, at: number, id: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (ids[at + i] !== id[i]) return false;
  return true;
}
