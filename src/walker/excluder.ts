import picomatch from "picomatch";
import { basename } from "node:path";

/**
 * Decides which paths a backup leaves out, with restic's rules: a pattern
 * with no `/` matches an entry's name at any depth (`*.swp`), one with a
 * `/` matches the whole absolute path (`/etc/ssl/private`, `/home/* /.cache`).
 * An excluded directory is skipped with everything below it.
 */
export class Excluder {
  readonly #byName: ((s: string) => boolean)[] = [];
  readonly #byPath: ((s: string) => boolean)[] = [];

  /** `insensitive` patterns ignore case (`--iexclude`). */
  constructor(readonly patterns: readonly string[] = [], insensitive: readonly string[] = []) {
    const add = (p: string, nocase: boolean) => {
      if (p.trim() === "") throw new TypeError("Empty exclude pattern");
      const m = picomatch(p.replace(/\/+$/, ""), { dot: true, nocase });
      (p.includes("/") ? this.#byPath : this.#byName).push(m);
    };
    for (const p of patterns) add(p, false);
    for (const p of insensitive) add(p, true);
  }

  /** Is the entry at absolute `path` excluded? */
  excludes(path: string): boolean {
    if (this.#byPath.some((m) => m(path))) return true;
    if (this.#byName.length === 0) return false;
    const name = basename(path);
    return this.#byName.some((m) => m(name));
  }
}
