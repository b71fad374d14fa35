/**
 * The one "is this file already final" rule of a restore in place: an
 * existing regular file is taken to hold a snapshot file's bytes when its
 * size and modification time (to the millisecond) match, as restic's
 * `--overwrite if-changed` and rsync's quick check decide.
 */

/** What the snapshot says the file is. */
export interface WantedFile {
  size: number;
  mtimeMs: number;
}

/** Does the entry `st` (from lstat) already hold `want`'s content, by size and mtime? */
export function isFinalFile(st: Deno.FileInfo, want: WantedFile): boolean {
  return st.isFile && st.size === want.size && st.mtime?.getTime() === want.mtimeMs;
}

/** Is the entry `st` a regular file at least as new as `want` (`--overwrite if-newer` keeps it)? */
export function isNewerFile(st: Deno.FileInfo, want: WantedFile): boolean {
  return st.isFile && (st.mtime?.getTime() ?? -Infinity) >= want.mtimeMs;
}
