/**
 * Reading a file that may not be there yet.
 *
 * @module
 */

/** A file's bytes, or `undefined` when it does not exist; other errors are thrown. */
export async function readFileIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}
