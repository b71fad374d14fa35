/**
 * Finds the source line of a key in TOML text.
 *
 * smol-toml reports positions only for syntax errors, so semantic errors look
 * the key up here. This is a light line scanner, not a second parser: it knows
 * table headers, arrays of tables, dotted keys, inline tables and multi-line
 * strings, which is what real job files contain. A key it cannot find falls
 * back to its nearest enclosing table, which is still the right place to look.
 *
 * The work is linear in the length of the text: keys are kept in a tree of
 * path segments, never as joined prefix strings, and no regular expression
 * here can backtrack over a line more than a constant number of times. A
 * signed remote document or a job file with one key of 60,000 dotted parts
 * must cost milliseconds, not minutes and gigabytes.
 *
 * @module
 */

/** A path into the parsed document: table keys and array indexes. */
export type KeyPath = readonly (string | number)[];

const BARE_OR_QUOTED = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const KEY_LINE = new RegExp(
  String.raw`^\s*(${BARE_OR_QUOTED}(?:\s*\.\s*${BARE_OR_QUOTED})*)\s*=`,
);
// `[^\]]*` rather than a lazy `.*?\s*`: the lazy form retries the trailing
// `\s*` at every position, quadratic on a long line of spaces.
const ARRAY_HEADER = /^\s*\[\[([^\]]*)\]\]/;
const TABLE_HEADER = /^\s*\[(?!\[)([^\]]*)\]/;
const INLINE_KEY = /[{,]\s*([A-Za-z0-9_-]+)\s*=/g;

/**
 * Keys deeper than this are located by their first MAX_DEPTH parts. Job files
 * nest five deep (`job.0.mirror.keep.daily`); the cap keeps a key of 500,000
 * parts from costing a tree node per part.
 */
const MAX_DEPTH = 32;

function splitKey(text: string): string[] {
  const out: string[] = [];
  const re = new RegExp(BARE_OR_QUOTED, "g");
  for (const m of text.matchAll(re)) {
    const k = m[0];
    out.push(k.startsWith('"') || k.startsWith("'") ? k.slice(1, -1) : k);
    if (out.length === MAX_DEPTH) break;
  }
  return out;
}

/** One key or table: where it was first seen, and how many `[[…]]` entries it has had. */
interface Node {
  line: number;
  /** Index of the last `[[array]]` entry, for arrays of tables. */
  last?: number;
  kids?: Map<string, Node>;
}

/** Line numbers (1-based) of every table and key found in `text`. */
export class KeyLocator {
  readonly #root: Node = { line: 0 };

  /** Scans `text` once. */
  constructor(text: string) {
    let current = this.#root;
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
        if (segs.length === 0) continue;
        const base = this.#walk(this.#root, segs, lineNo, true);
        base.last = (base.last ?? -1) + 1;
        current = this.#child(base, String(base.last), lineNo);
        continue;
      }
      m = TABLE_HEADER.exec(line);
      if (m && !KEY_LINE.test(line)) {
        current = this.#walk(this.#root, splitKey(m[1]), lineNo, true);
        continue;
      }
      m = KEY_LINE.exec(line);
      if (!m) continue;
      const full = this.#walk(current, splitKey(m[1]), lineNo, false);
      const rest = line.slice(m[0].length);
      for (const im of rest.matchAll(INLINE_KEY)) this.#child(full, im[1], lineNo);
      for (const q of ['"""', "'''"]) {
        const count = rest.split(q).length - 1;
        if (count % 2 === 1) inMultiline = q;
      }
    }
  }

  /**
   * Follows (and creates) `segs` below `from`. In a table header, a segment
   * that names an array of tables means its last entry, as in TOML.
   */
  #walk(from: Node, segs: readonly string[], line: number, header: boolean): Node {
    let node = from;
    segs.forEach((seg, i) => {
      node = this.#child(node, seg, line);
      if (header && i < segs.length - 1 && node.last !== undefined) {
        node = this.#child(node, String(node.last), line);
      }
    });
    return node;
  }

  /** The child `seg` of `node`, created at `line` if new (the first line seen wins). */
  #child(node: Node, seg: string, line: number): Node {
    node.kids ??= new Map();
    let kid = node.kids.get(seg);
    if (!kid) node.kids.set(seg, kid = { line });
    return kid;
  }

  /** The line of `path`, or of its nearest enclosing key or table that was found. */
  find(path: KeyPath): number | undefined {
    let node = this.#root;
    let found: number | undefined;
    for (const seg of path) {
      const kid = node.kids?.get(String(seg));
      if (!kid) break;
      node = kid;
      found = kid.line;
    }
    return found;
  }
}
