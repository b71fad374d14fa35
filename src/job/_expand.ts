/**
 * `~` and environment-variable expansion for paths in job files.
 *
 * @module
 */

import { isAbsolute, normalize } from "node:path";

/** Where expansion looks things up; injected so parsing stays pure and testable. */
export interface ExpandEnv {
  env: Record<string, string | undefined>;
  home?: string;
}

const VAR = /\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Expands a leading `~` or `~/` and `$VAR` / `${VAR}` anywhere; `$$` is a
 * literal `$`. An unset or empty variable is an error rather than an empty
 * string, because `"$BACKUP_ROOT/etc"` silently becoming `"/etc"` (or
 * `"/$EMPTY"` becoming `"/"`) is exactly the kind of surprise a backup tool
 * must not have.
 *
 * @throws {Error} with a short reason, which the caller attaches to the key.
 */
export function expandVars(text: string, ctx: ExpandEnv): string {
  let s = text;
  if (s === "~" || s.startsWith("~/")) {
    if (!ctx.home) throw new Error(`cannot expand "~": no home directory is known`);
    s = ctx.home.replace(/\/+$/, "") + s.slice(1);
  } else if (s.startsWith("~")) {
    throw new Error(`"~user" paths are not supported in "${text}"; write the full path`);
  }
  return s.replace(VAR, (all, braced: string | undefined, bare: string | undefined) => {
    if (all === "$$") return "$";
    const name = braced ?? bare!;
    if (!NAME.test(name)) throw new Error(`invalid variable name "${all}" in "${text}"`);
    const value = ctx.env[name];
    if (value === undefined) {
      throw new Error(`environment variable "${name}" is not set (used in "${text}")`);
    }
    if (value === "") {
      throw new Error(`environment variable "${name}" is empty (used in "${text}")`);
    }
    return value;
  });
}

/** Expands `text` and requires the result to be an absolute path; returns it normalised. */
export function expandPath(text: string, ctx: ExpandEnv): string {
  const s = expandVars(text, ctx);
  if (!isAbsolute(s)) {
    throw new Error(
      s === text
        ? `path "${text}" is not absolute`
        : `path "${text}" expands to "${s}", which is not absolute`,
    );
  }
  const n = normalize(s);
  return n.length > 1 ? n.replace(/\/+$/, "") : n;
}
