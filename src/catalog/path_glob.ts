import picomatch from "picomatch";

/**
 * A glob on snapshot paths, with restic's rule: without `/` it matches an
 * entry's name at any depth (`*.txt`), with `/` the whole absolute path
 * (`/home/*\/notes.txt`; a relative one is taken from the root). Dot files
 * match like any other.
 */
export class PathGlob {
  /** Does the glob look at names only (so a match does not depend on where a tree sits)? */
  readonly byName: boolean;
  readonly #match: (s: string) => boolean;
  /** The literal directory the glob starts in (`""` when it starts with a wildcard). */
  readonly #base: string;

  constructor(readonly glob: string) {
    if (glob.trim() === "") throw new TypeError("Empty glob");
    let g = glob.length > 1 ? glob.replace(/\/+$/, "") : glob;
    this.byName = !g.includes("/");
    if (!this.byName && !g.startsWith("/") && !g.startsWith("**")) g = "/" + g;
    this.#match = picomatch(g, { dot: true });
    this.#base = this.byName ? "" : picomatch.scan(g).base ?? "";
  }

  /** Does the entry at `path`, named `name`, match? */
  matches(path: string, name: string): boolean {
    return this.#match(this.byName ? name : path);
  }

  /** Could anything below directory `dir` match? False lets a walk skip the subtree. */
  mayContain(dir: string): boolean {
    const base = this.#base;
    if (base === "" || dir === "/") return true;
    return base === dir || base.startsWith(dir + "/") || dir.startsWith(base + "/");
  }
}
