/**
 * Finds the source line of a key in TOML text.
 *
 * smol-toml reports positions only for syntax errors, so semantic errors look
 * the key up here. This is a light line scanner, not a second parser: it knows
 * table headers, arrays of tables, dotted keys, inline tables and multi-line
 * strings, which is what real job files contain. A key it cannot find falls
 * back to its nearest enclosing table, which is still the right place to look.
 *
 * @module
 */

/** A path into the parsed document: table keys and array indexes. */
export type KeyPath = readonly (string | number)[];

const BARE_OR_QUOTED = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const KEY_LINE = new RegExp(
  String.raw`^\s*(${BARE_OR_QUOTED}(?:\s*\.\s*${BARE_OR_QUOTED})*)\s*=`,
);
const ARRAY_HEADER = /^\s*\[\[\s*(.+?)\s*\]\]/;
const TABLE_HEADER = /^\s*\[\s*([^\[].*?)\s*\]/;
const INLINE_KEY = /[{,]\s*([A-Za-z0-9_-]+)\s*=/g;

function splitKey(text: string): string[] {
  const out: string[] = [];
  const re = new RegExp(BARE_OR_QUOTED, "g");
  for (const m of text.matchAll(re)) {
    const k = m[0];
    out.push(k.startsWith('"') || k.startsWith("'") ? k.slice(1, -1) : k);
  }
  return out;
}

function keyOf(path: KeyPath): string {
  return path.join("\u0000");
}

/** Line numbers (1-based) of every table and key found in `text`. */
export class KeyLocator {
  #lines = new Map<string, number>();

  /** Scans `text` once. */
  constructor(text: string) {
    const counts = new Map<string, number>();
    const resolve = (segs: string[]): (string | number)[] => {
      const out: (string | number)[] = [];
      for (const s of segs) {
        out.push(s);
        const n = counts.get(keyOf(out));
        if (n !== undefined) out.push(n);
      }
      return out;
    };
    let current: (string | number)[] = [];
    let inMultiline: string | undefined;
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      const lineNo = i + 1;
      if (inMultiline) {
        if (line.includes(inMultiline)) inMultiline = undefined;
        continue;
      }
      let m = ARRAY_HEADER.exec(line);
      if (m) {
        const segs = splitKey(m[1]);
        const parent = resolve(segs.slice(0, -1));
        const base = [...parent, segs[segs.length - 1]];
        const n = (counts.get(keyOf(base)) ?? -1) + 1;
        counts.set(keyOf(base), n);
        current = [...base, n];
        this.#record(current, lineNo);
        continue;
      }
      m = TABLE_HEADER.exec(line);
      if (m && !KEY_LINE.test(line)) {
        current = resolve(splitKey(m[1]));
        this.#record(current, lineNo);
        continue;
      }
      m = KEY_LINE.exec(line);
      if (!m) continue;
      const full = [...current, ...splitKey(m[1])];
      this.#record(full, lineNo);
      const rest = line.slice(m[0].length);
      for (const im of rest.matchAll(INLINE_KEY)) this.#record([...full, im[1]], lineNo);
      for (const q of ['"""', "'''"]) {
        const count = rest.split(q).length - 1;
        if (count % 2 === 1) inMultiline = q;
      }
    }
  }

  #record(path: KeyPath, line: number) {
    // Every prefix too, so `keep.daily = 1` also locates `keep`.
    for (let n = 1; n <= path.length; n++) {
      const k = keyOf(path.slice(0, n));
      if (!this.#lines.has(k)) this.#lines.set(k, line);
    }
  }

  /** The line of `path`, or of its nearest enclosing key or table that was found. */
  find(path: KeyPath): number | undefined {
    for (let n = path.length; n > 0; n--) {
      const line = this.#lines.get(keyOf(path.slice(0, n)));
      if (line !== undefined) return line;
    }
    return undefined;
  }
}
