/**
 * Typed field access over a parsed TOML table that turns every problem into a
 * one-line {@linkcode ConfigError} pointing at the right line and key.
 *
 * @module
 */

import { ConfigError } from "./config_error.ts";
import type { KeyLocator, KeyPath } from "./_locate.ts";

/** A plain TOML table as smol-toml returns it. */
export type Table = Record<string, unknown>;

/** Shared by all readers of one document. */
export interface Doc {
  file: string;
  locator: KeyLocator;
}

function displayKey(rel: KeyPath): string | undefined {
  let out = "";
  for (const seg of rel) {
    out += typeof seg === "number" ? `[${seg}]` : (out ? "." : "") + seg;
  }
  return out || undefined;
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date-time";
  if (v === null || v === undefined) return "nothing";
  if (typeof v === "object") return "a table";
  if (typeof v === "number") return Number.isInteger(v) ? "an integer" : "a float";
  if (typeof v === "boolean") return "a boolean";
  return `a ${typeof v}`;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

/**
 * One table in the document, with the context label used in messages
 * (`job "etc"`, `repository "local"`) and its path for line lookup.
 */
export class Reader {
  constructor(
    readonly doc: Doc,
    readonly table: Table,
    /** Full path of this table in the document. */
    readonly path: KeyPath,
    /** Message context, e.g. `job "etc"`; undefined at top level. */
    readonly context?: string,
    /** Key prefix shown in messages for keys of this table (e.g. `keep`). */
    readonly keyPrefix: KeyPath = [],
  ) {}

  /** Throws a ConfigError about `rel` (a key, or key plus index) of this table. */
  fail(rel: KeyPath, detail: string, cause?: unknown): never {
    const line = this.doc.locator.find([...this.path, ...rel]);
    const key = displayKey([...this.keyPrefix, ...rel]);
    throw new ConfigError({ file: this.doc.file, line, key }, detail, {
      context: this.context,
      cause,
    });
  }

  /** A reader for the sub-table at `key`, keeping this table's context. */
  child(key: string, table: Table): Reader {
    return new Reader(this.doc, table, [...this.path, key], this.context, [
      ...this.keyPrefix,
      key,
    ]);
  }

  /** Rejects keys not in `allowed`, suggesting the closest allowed key. */
  onlyKeys(allowed: readonly string[], forbiddenHere: Record<string, string> = {}) {
    for (const key of Object.keys(this.table)) {
      if (forbiddenHere[key]) this.fail([key], forbiddenHere[key]);
      if (allowed.includes(key)) continue;
      const near = allowed
        .map((a) => ({ a, d: editDistance(key, a) }))
        .filter((x) => x.d <= 2)
        .sort((x, y) => x.d - y.d)[0];
      this.fail([key], `unknown key${near ? ` (did you mean "${near.a}"?)` : ""}`);
    }
  }

  has(key: string): boolean {
    return this.table[key] !== undefined;
  }

  #get(key: string, required: boolean): unknown {
    const v = this.table[key];
    if (v === undefined && required) this.fail([key], "required key is missing");
    return v;
  }

  #wrong(rel: KeyPath, want: string, v: unknown): never {
    this.fail(rel, `expected ${want}, got ${typeName(v)}`);
  }

  string(key: string, required: true): string;
  string(key: string, required?: boolean): string | undefined;
  /** A non-empty string. */
  string(key: string, required = false): string | undefined {
    const v = this.#get(key, required);
    if (v === undefined) return undefined;
    if (typeof v !== "string") this.#wrong([key], "a string", v);
    if (v.trim() === "") this.fail([key], "must not be empty");
    return v;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.#get(key, false);
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") this.#wrong([key], "true or false", v);
    return v;
  }

  /** An integer in [min, max]. */
  integer(key: string, opts: { required?: boolean; min?: number; max?: number } = {}) {
    const v = this.#get(key, opts.required ?? false);
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) this.#wrong([key], "an integer", v);
    if (opts.min !== undefined && v < opts.min) this.fail([key], `must be at least ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) this.fail([key], `must be at most ${opts.max}`);
    return v;
  }

  /** An array of non-empty strings; a single string is accepted when `single` is set. */
  strings(
    key: string,
    opts: { required?: boolean; single?: boolean; nonEmpty?: boolean; allowEmptyItems?: boolean } =
      {},
  ) {
    const v = this.#get(key, opts.required ?? false);
    if (v === undefined) return undefined;
    if (opts.single && typeof v === "string") {
      if (v.trim() === "") this.fail([key], "must not be empty");
      return [v];
    }
    if (!Array.isArray(v)) {
      this.#wrong(
        [key],
        opts.single ? "a string or an array of strings" : "an array of strings",
        v,
      );
    }
    if (opts.nonEmpty && v.length === 0) this.fail([key], "must not be an empty array");
    return v.map((item, i) => {
      if (typeof item !== "string") this.#wrong([key, i], "a string", item);
      if (item.trim() === "" && !opts.allowEmptyItems) this.fail([key, i], "must not be empty");
      return item;
    });
  }

  /** A sub-table (or inline table). */
  subTable(key: string, required = false): Table | undefined {
    const v = this.#get(key, required);
    if (v === undefined) return undefined;
    if (!isTable(v)) this.#wrong([key], "a table", v);
    return v;
  }

  /** Runs `convert` on the value of `key`, reporting its error message at the key. */
  convert<T>(key: string, value: string, convert: (v: string) => T, rel: KeyPath = [key]): T {
    try {
      return convert(value);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      this.fail(rel, e instanceof Error ? e.message : String(e), e);
    }
  }
}

/** True for a plain TOML table (not an array, not a date). */
export function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}
