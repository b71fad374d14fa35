import picomatch from "picomatch";
import type { NodeXattr } from "../repo/mod.ts";

/**
 * Which extended attributes a restore sets, by name, as restic's
 * `--exclude-xattr` / `--include-xattr`: globs on the attribute's whole name
 * (`user.*`, `security.selinux`; `*` does not stop at `.`). With include
 * globs only the matching attributes are set; with exclude globs all but the
 * matching ones. The two do not combine.
 */
export class XattrFilter {
  readonly #exclude: ((s: string) => boolean)[];
  readonly #include: ((s: string) => boolean)[];

  constructor(exclude: readonly string[] = [], include: readonly string[] = []) {
    if (exclude.length > 0 && include.length > 0) {
      throw new TypeError("--exclude-xattr and --include-xattr do not combine");
    }
    const compile = (g: string) => {
      if (g.trim() === "") throw new TypeError("Empty xattr pattern");
      // Attribute names hold no '/', so '*' matches any run of characters.
      return picomatch(g, { dot: true, contains: false, bash: true });
    };
    this.#exclude = exclude.map(compile);
    this.#include = include.map(compile);
  }

  /** True when every attribute is kept (no globs). */
  get all(): boolean {
    return this.#exclude.length === 0 && this.#include.length === 0;
  }

  /** The attributes of `xattrs` to set. */
  keep(xattrs: readonly NodeXattr[] | undefined): NodeXattr[] | undefined {
    if (!xattrs || this.all) return xattrs as NodeXattr[] | undefined;
    return xattrs.filter((x) =>
      this.#include.length > 0
        ? this.#include.some((m) => m(x.name))
        : !this.#exclude.some((m) => m(x.name))
    );
  }
}
