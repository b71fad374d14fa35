/**
 * Looking at an entry that may not be there, without following a link.
 *
 * @module
 */

/** lstat of `path` (a link itself, never its target), or null when nothing is there. */
export function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
