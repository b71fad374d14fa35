/**
 * Looking at an entry that may not be there, without following a link.
 *
 * @module
 */

/**
 * lstat of `path` (a link itself, never its target), or null when nothing is
 * there. `lstat` replaces Deno's (the platform's `byteFs.lstatSync` reaches
 * names that are not UTF-8).
 */
export function lstatOrNull(
  path: string,
  lstat: (path: string) => Deno.FileInfo = Deno.lstatSync,
): Deno.FileInfo | null {
  try {
    return lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}
