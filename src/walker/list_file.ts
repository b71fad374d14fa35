/**
 * The list files and sizes restic's selection options take, read one way
 * for the command line (`--files-from`, `--exclude-file`,
 * `--exclude-larger-than`) and job files (`files_from`, `exclude_file`,
 * `exclude_larger_than`).
 *
 * @module
 */

/**
 * The entries of a list file, as restic reads them: one a line, blank lines
 * and lines starting with `#` skipped, surrounding whitespace trimmed.
 * Throws the read error (NotFound, PermissionDenied) as it is.
 */
export function readListFile(path: string): string[] {
  return Deno.readTextFileSync(path).split(/\r?\n/).map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** A size like `500`, `500K`, `2M`, `1.5G`, `1T` (powers of 1024, optional `iB`/`B`); undefined otherwise. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * 1024 ** "BKMGT".indexOf((m[2] || "B").toUpperCase()));
}
