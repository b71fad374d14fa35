/**
 * What Deno's own APIs do not reach: extended attributes (which carry
 * POSIX ACLs and file capabilities too) and the times of a symlink itself.
 * Linux only, through libc; elsewhere `supported` is false and every call
 * throws {@link NotSupportedError}, so callers can skip the feature cleanly.
 *
 * @module
 */
import * as linux from "./_linux.ts";

export { OsError } from "./_linux.ts";

/** Does this platform implement the calls below? */
export const supported = Deno.build.os === "linux";

/** Thrown by every call where {@link supported} is false. */
export class NotSupportedError extends Error {
  constructor(what: string) {
    super(`${what} is not supported on ${Deno.build.os}`);
    this.name = "NotSupportedError";
  }
}

/** One extended attribute: its full name (`user.note`) and raw value. */
export interface Xattr {
  name: string;
  value: Uint8Array;
}

function need(what: string): void {
  if (!supported) throw new NotSupportedError(what);
}

/**
 * Every extended attribute of `path` (a symlink's own, not its target's),
 * sorted by name. A filesystem without xattr support gives none.
 */
export function readXattrs(path: string): Xattr[] {
  need("reading extended attributes");
  let names: string[];
  try {
    names = linux.listXattrNames(path);
  } catch (err) {
    if (err instanceof linux.OsError && err.errno === linux.ENOTSUP) return [];
    throw err;
  }
  const out: Xattr[] = [];
  for (const name of names.sort()) {
    const value = linux.getXattr(path, name);
    if (value !== null) out.push({ name, value });
  }
  return out;
}

/** Sets one extended attribute of `path` (a symlink's own). */
export function writeXattr(path: string, name: string, value: Uint8Array): void {
  need("setting extended attributes");
  linux.setXattr(path, name, value);
}

/** Sets the access and modification times of `path` without following a link. */
export function setLinkTimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  need("setting a symlink's times");
  linux.lutimes(path, atimeNs, mtimeNs);
}
