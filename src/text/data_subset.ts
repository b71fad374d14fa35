/**
 * Which packs `check --read-data-subset` reads: part `n` of `m` (packs by
 * the first 4 bytes of their id, so the m parts cover every pack exactly
 * once, run after run), a random share, or random packs up to a byte total.
 */
export type DataSubset =
  | { kind: "part"; n: number; m: number }
  | { kind: "share"; fraction: number }
  | { kind: "bytes"; bytes: number };

/** Parses `N/M`, `P%` or a size like `500M`; RangeError on anything else. */
export function parseDataSubset(text: string): DataSubset {
  const part = /^(\d+)\/(\d+)$/.exec(text);
  if (part) {
    const n = Number(part[1]);
    const m = Number(part[2]);
    if (!(m >= 1 && n >= 1 && n <= m)) throw new RangeError(`subset ${text}: need 1 <= N <= M`);
    return { kind: "part", n, m };
  }
  const share = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (share) {
    const p = Number(share[1]);
    if (!(p > 0 && p <= 100)) {
      throw new RangeError(`subset ${text}: the share must be in (0, 100]%`);
    }
    return { kind: "share", fraction: p / 100 };
  }
  const size = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text);
  if (size) {
    const unit = 1024 ** "BKMGT".indexOf((size[2] || "B").toUpperCase());
    return { kind: "bytes", bytes: Math.round(Number(size[1]) * unit) };
  }
  throw new RangeError(`subset "${text}" is not N/M, P% or a size like 500M`);
}
