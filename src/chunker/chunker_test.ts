import assert from "node:assert/strict";
import fc from "fast-check";
import { Chunker, type ChunkerParams, gearTable } from "./mod.ts";
import { chunkLengths, randomBytes } from "./_testing.ts";

const table = gearTable(new Uint8Array(32).fill(42));
const SMALL: ChunkerParams = { min: 64, avg: 256, max: 1024 };

/**
 * FastCDC written the obvious way: hash every byte from the chunk start and
 * test each length. The real chunker must agree with it despite skipping.
 */
function referenceLengths(data: Uint8Array, p: ChunkerParams, gear = table): number[] {
  const bits = Math.log2(p.avg);
  const maskS = ~0 << (32 - bits - 2);
  const maskL = ~0 << (32 - bits + 2);
  const t = new Int32Array(gear);
  const lengths: number[] = [];
  let start = 0;
  while (start < data.length) {
    let h = 0;
    let len = 0;
    for (let i = start; i < data.length; i++) {
      h = ((h << 1) + t[data[i]]) | 0;
      len++;
      if (len < p.min) continue;
      if (len === p.max || (h & (len < p.avg ? maskS : maskL)) === 0) break;
    }
    lengths.push(len);
    start += len;
  }
  return lengths;
}

const arbParams: fc.Arbitrary<ChunkerParams> = fc
  .record({ min: fc.integer({ min: 64, max: 400 }), extraBits: fc.integer({ min: 0, max: 3 }) })
  .chain(({ min, extraBits }) => {
    const avg = 2 ** (Math.floor(Math.log2(min)) + 1 + extraBits);
    return fc.integer({ min: avg + 1, max: avg * 8 }).map((max) => ({ min, avg, max }));
  });

Deno.test("next() cuts a file the same whether fed whole or in pieces of any size", () => {
  fc.assert(
    fc.property(
      arbParams,
      fc.integer(),
      fc.integer({ min: 0, max: 20_000 }),
      fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 20 }),
      (params, seed, length, pieces) => {
        const data = randomBytes(length, seed);
        const chunker = new Chunker(table, params);
        assert.deepStrictEqual(chunkLengths(chunker, data, pieces), chunkLengths(chunker, data));
      },
    ),
  );
});

Deno.test("next() agrees with a reference that hashes every byte", () => {
  fc.assert(
    fc.property(arbParams, fc.integer(), fc.integer({ min: 0, max: 20_000 }), (p, seed, length) => {
      const data = randomBytes(length, seed);
      assert.deepStrictEqual(chunkLengths(new Chunker(table, p), data), referenceLengths(data, p));
    }),
  );
});

/** Random bytes with runs of zeros laid over them, as in a disk image. */
function withZeroRuns(length: number, seed: number, runs: [number, number][]): Uint8Array {
  const data = randomBytes(length, seed);
  for (const [at, len] of runs) data.fill(0, at % (length + 1), at % (length + 1) + len);
  return data;
}

Deno.test("next() skips runs of zeros and still agrees with the reference, fed in any pieces", () => {
  const zeroMatches = gearTable(new Uint8Array(32).fill(7));
  zeroMatches[0] = 0; // the zero fixed point is 0, which every mask matches: no skip allowed
  fc.assert(
    fc.property(
      arbParams,
      fc.integer(),
      fc.integer({ min: 0, max: 30_000 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 12_000 })), { maxLength: 4 }),
      fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 10 }),
      fc.boolean(),
      (p, seed, length, runs, pieces, matching) => {
        const data = withZeroRuns(length, seed, runs);
        const t = matching ? zeroMatches : table;
        const chunker = new Chunker(t, p);
        const expected = referenceLengths(data, p, t);
        assert.deepStrictEqual(chunkLengths(chunker, data), expected);
        assert.deepStrictEqual(chunkLengths(chunker, data, pieces), expected);
      },
    ),
  );
});

Deno.test("next() skips zero runs longer than its 64 KiB compare blocks, specks and all", () => {
  // Runs past 64 KiB take the block-compare path; single non-zero bytes in
  // them, on and around block edges, must stop the skip at the right byte.
  const p: ChunkerParams = { min: 4096, avg: 16384, max: 300_000 };
  fc.assert(
    fc.property(
      fc.integer(),
      fc.integer({ min: 0, max: 700_000 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 400_000 })), { maxLength: 3 }),
      fc.array(
        fc.tuple(
          fc.oneof(fc.nat(), fc.tuple(fc.nat(6), fc.integer({ min: -2, max: 2 }))),
          fc.integer({ min: 1, max: 255 }),
        ),
        { maxLength: 4 },
      ),
      fc.integer({ min: 0, max: 7 }),
      (seed, length, runs, specks, shift) => {
        const data = withZeroRuns(length + shift, seed, runs).subarray(shift);
        // Each speck lands inside the first run (in the data, shifted by `shift`).
        const [runAt, runLength] = runs[0] ?? [0, 1];
        const runStart = (runAt % (length + shift + 1)) - shift;
        for (const [at, b] of specks) {
          // A number: anywhere in the run; [k, d]: d bytes from the k-th 64 KiB edge in it.
          const i = runStart + (typeof at === "number" ? at % runLength : at[0] * 65536 + at[1]);
          if (i >= 0 && i < length) data[i] = b;
        }
        const expected = referenceLengths(data, p);
        assert.deepStrictEqual(chunkLengths(new Chunker(table, p), data), expected);
        assert.deepStrictEqual(
          chunkLengths(new Chunker(table, p), data, [65536, 1000, 99_999]),
          expected,
        );
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("next() cuts an all-zero region by its hash's fixed point, at any buffer offset", () => {
  const p: ChunkerParams = { min: 64, avg: 256, max: 1024 };
  const data = new Uint8Array(10_003 + 8);
  // T[0] = 1 puts the fixed point at -1, which no mask matches: max-size chunks (the skip runs);
  // T[0] = 0 puts it at 0, which every mask matches: a cut at `min` (no skip).
  for (const [t0, size] of [[1, 1024], [0, 64]]) {
    const t = gearTable(new Uint8Array(32).fill(9));
    t[0] = t0;
    for (let shift = 0; shift < 8; shift++) {
      const view = data.subarray(shift, shift + 10_003);
      const lengths = chunkLengths(new Chunker(t, p), view);
      assert.deepStrictEqual(lengths, referenceLengths(view, p, t));
      assert.deepStrictEqual(lengths.slice(0, -1), new Array(Math.floor(10_003 / size)).fill(size));
    }
  }
});

Deno.test("next() keeps chunks within [min, max] and near avg on random data", () => {
  for (
    const p of [SMALL, { min: 2048, avg: 8192, max: 65536 }, { min: 4096, avg: 8192, max: 12288 }]
  ) {
    const lengths = chunkLengths(new Chunker(table, p), randomBytes(8 << 20, 7));
    const last = lengths.pop()!;
    assert.ok(last >= 1 && last <= p.max);
    for (const l of lengths) assert.ok(l >= p.min && l <= p.max, `chunk of ${l} bytes`);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    // Normalized chunking with min = avg / 2 lands a little above avg.
    assert.ok(mean > p.avg * 0.75 && mean < p.avg * 1.5, `mean ${mean} for avg ${p.avg}`);
  }
});

Deno.test("next() forces a cut at max when the content never matches", () => {
  // A run of byte b settles on the hash -table[b] after 32 bytes; pick a b
  // whose settled hash fails even the loose mask (top 6 bits for avg 256).
  const b = table.findIndex((v) => (-v >>> 26) !== 0);
  const lengths = chunkLengths(new Chunker(table, SMALL), new Uint8Array(10_000).fill(b));
  assert.deepStrictEqual(lengths, [...Array(9).fill(1024), 10_000 - 9 * 1024]);
});

Deno.test("next() reports several cut points in one buffer from successive starts", () => {
  const chunker = new Chunker(table, SMALL);
  const data = randomBytes(100_000, 3);
  const cuts: number[] = [];
  for (let pos = 0, cut; (cut = chunker.next(data, pos)) !== -1; pos = cut) cuts.push(cut);
  assert.ok(cuts.length > 50);
  assert.ok(cuts.every((c, i) => c > (cuts[i - 1] ?? 0)));
});

Deno.test("next() returns -1 for an empty range and rejects a start outside the buffer", () => {
  const chunker = new Chunker(table, SMALL);
  const buf = new Uint8Array(10);
  assert.equal(chunker.next(buf, 10), -1);
  assert.equal(chunker.next(new Uint8Array(0)), -1);
  assert.throws(() => chunker.next(buf, 11), RangeError);
  assert.throws(() => chunker.next(buf, -1), RangeError);
  assert.throws(() => chunker.next(buf, 1.5), RangeError);
});

Deno.test("reset() forgets a partial chunk", () => {
  const data = randomBytes(50_000, 9);
  const fresh = new Chunker(table, SMALL);
  const used = new Chunker(table, SMALL);
  assert.equal(used.next(randomBytes(60, 1)), -1); // shorter than min: chunk still open
  used.reset();
  assert.equal(used.next(data), fresh.next(data));
});

Deno.test("Chunker differs between seeds, so boundaries do not fingerprint files", () => {
  const data = randomBytes(1 << 20, 5);
  const other = gearTable(new Uint8Array(32).fill(43));
  const a = chunkLengths(new Chunker(table, SMALL), data);
  const b = chunkLengths(new Chunker(other, SMALL), data);
  const cutsOf = (ls: number[]) => {
    let end = 0;
    return new Set(ls.map((l) => end += l));
  };
  const cutsA = cutsOf(a);
  const shared = [...cutsOf(b)].filter((c) => cutsA.has(c)).length;
  // Independent tables share only chance coincidences, far fewer than half.
  assert.ok(shared < cutsA.size / 10, `${shared} of ${cutsA.size} cut points shared`);
});

Deno.test("Chunker rejects a table of the wrong size and invalid params", () => {
  assert.throws(() => new Chunker(new Uint32Array(255)), RangeError);
  assert.throws(() => new Chunker(table, { min: 64, avg: 100, max: 1024 }), RangeError);
});
