import picomatch from "picomatch";

/**
 * Which snapshot paths a restore selects. A glob without `/` matches entry
 * names at any depth; one with `/` matches the whole path (`/home/ann/*.txt`).
 * A matching directory brings its whole subtree; a matching file brings its
 * parent directories (the restorer creates those on demand).
 */
export class IncludeFilter {
  readonly #byName: ((s: string) => boolean)[] = [];
  readonly #byPath: { match: (s: string) => boolean; base: string }[] = [];

  constructor(globs: readonly string[] = []) {
    for (const raw of globs) {
      if (raw.trim() === "") throw new TypeError("Empty include pattern");
      let g = raw.length > 1 ? raw.replace(/\/+$/, "") : raw;
      if (!g.includes("/")) {
        this.#byName.push(picomatch(g, { dot: true }));
        continue;
      }
      if (!g.startsWith("/") && !g.startsWith("**")) g = "/" + g;
      const scan = picomatch.scan(g);
      this.#byPath.push({ match: picomatch(g, { dot: true }), base: scan.base ?? "" });
    }
  }

  /** True when there is no pattern: everything is restored. */
  get all(): boolean {
    return this.#byName.length === 0 && this.#byPath.length === 0;
  }

  /** Does the entry at `path` (whose last component is `name`) match a pattern? */
  matches(path: string, name: string): boolean {
    if (this.all) return true;
    return this.#byName.some((m) => m(name)) || this.#byPath.some((p) => p.match(path));
  }

  /**
   * Could something below directory `dir` match? False only when every
   * pattern is a path pattern whose literal start lies elsewhere, which lets
   * a restore skip loading unrelated subtrees.
   */
  mayContain(dir: string): boolean {
    if (this.all || this.#byName.length > 0) return true;
    return this.#byPath.some(({ base }) => {
      if (base === "" || dir === "/") return true;
      return base === dir || base.startsWith(dir + "/") || dir.startsWith(base + "/");
    });
  }
}
