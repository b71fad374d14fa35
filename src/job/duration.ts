/**
 * Durations as written in job files and on the command line: `90s`, `15m`,
 * `2h`, `1d`, `1h30m`.
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

// Longest unit first so "ms" is not read as "m" followed by garbage.
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/**
 * Parses a duration such as `90s`, `15m`, `2h`, `1d`, `1w` or `1h30m` into
 * milliseconds.
 *
 * Units: `ms`, `s`, `m` (minutes), `h`, `d` (24 h), `w` (7 d). Months and years
 * are deliberately not accepted because their length varies; write `30d` or
 * `365d`. The bare string `"0"` means zero.
 *
 * @throws {RangeError} when the text is not a duration.
 */
export function parseDuration(text: string): number {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot parse duration: expected a string, got ${typeof text}`);
  }
  const s = text.trim();
  if (s === "0") return 0;
  let total = 0;
  let pos = 0;
  PART.lastIndex = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) break;
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = PART.lastIndex;
  }
  if (s.length === 0 || pos !== s.length) {
    throw new RangeError(
      `invalid duration "${text}": expected a number and unit such as 90s, 15m, 2h, 1d or 1h30m`,
    );
  }
  return Math.round(total);
}

/** Formats milliseconds as a compact duration (`1h30m`, `45s`, `0s`) for messages. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(Math.round(ms));
  let out = "";
  for (const unit of ["d", "h", "m", "s"] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  if (rest > 0) out += `${rest}ms`;
  return sign + out;
}
