import { lstatOrNull } from "../fs/mod.ts";
import { byteFs } from "../platform/mod.ts";
import { tempBeside } from "./file_writer.ts";

/**
 * Removes an entry of the mirror, a whole directory included. Never
 * follows a link: a link is removed itself. Read-only directories in the
 * way are made writable first (they are ours to delete).
 */
export function removeEntry(path: string): void {
  const st = lstatOrNull(path, byteFs.lstatSync);
  if (!st) return;
  if (!st.isDirectory) return byteFs.removeSync(path);
  try {
    byteFs.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
    makeWritable(path);
    byteFs.removeSync(path, { recursive: true });
  }
}

function makeWritable(dir: string): void {
  const st = byteFs.lstatSync(dir);
  if (!st.isDirectory) return;
  byteFs.chmodSync(dir, ((st.mode ?? 0o700) & 0o7777) | 0o700);
  for (const name of byteFs.readDirNames(dir)) makeWritable(`${dir}/${name}`);
}

/** Makes `dst` a hard link to `src`, replacing what is there in one step. */
export function linkInto(src: string, dst: string, dstExists: boolean): void {
  if (!dstExists) return byteFs.linkSync(src, dst);
  const tmp = tempBeside(dst);
  byteFs.linkSync(src, tmp);
  try {
    byteFs.renameSync(tmp, dst);
  } finally {
    // rename(2) between two links of one file does nothing and leaves `tmp`.
    try {
      byteFs.removeSync(tmp);
    } catch { /* renamed, as usual */ }
  }
}

/** Makes `path` a symlink to `target`, replacing a file or link there in one step. */
export function symlinkInto(target: string, path: string): void {
  const tmp = tempBeside(path);
  byteFs.symlinkSync(target, tmp);
  try {
    byteFs.renameSync(tmp, path);
  } catch (err) {
    try {
      byteFs.removeSync(tmp);
    } catch { /* best effort */ }
    throw err;
  }
}
