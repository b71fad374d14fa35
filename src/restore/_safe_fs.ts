/**
 * Filesystem steps of a restore that never follow a link the restore did not
 * make itself: every existing entry is looked at with lstat, a link in the
 * way is removed (the link, not what it points to), and files are created
 * with O_CREAT|O_EXCL, which refuses to open through any link.
 *
 * Paths given here are reached through a held directory (`src/heldfs`), so
 * a directory swapped for a link under the restore redirects nothing; what
 * is left is the last component, checked with lstat before chmod and chown
 * (Deno has no fchmod), and the platforms without `/proc/self/fd`.
 */

/** lstat, or null when nothing is there. */
export function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Makes `path` a real directory (not a link to one), replacing a file or
 * link that is in the way. An existing directory is kept and made writable
 * for its owner, so a second restore into the same target works.
 */
export function ensureRealDir(path: string): Deno.FileInfo {
  // mkdir first: into a new target it succeeds, and a miss costs an
  // exception (tens of microseconds in Deno) where an lstat first would
  // cost one for every new directory.
  let existed = false;
  try {
    Deno.mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    existed = true;
    if (!Deno.lstatSync(path).isDirectory) {
      Deno.removeSync(path);
      Deno.mkdirSync(path, { mode: 0o700 });
      existed = false;
    }
  }
  const check = Deno.lstatSync(path);
  if (!check.isDirectory) {
    throw new Error(`${path} is not a directory after creating it; refusing to write into it`);
  }
  if (existed && check.mode !== null && (check.mode & 0o700) !== 0o700) {
    Deno.chmodSync(path, (check.mode & 0o7777) | 0o700);
  }
  return check;
}

/**
 * Clears the place where a non-directory entry goes: a file, link, FIFO…
 * already there is unlinked; an empty directory is removed; a non-empty
 * directory is an error (its contents are not ours to delete).
 */
export function clearSlot(path: string): void {
  const st = lstatOrNull(path);
  if (!st) return;
  if (st.isDirectory) {
    try {
      Deno.removeSync(path);
    } catch (err) {
      throw new Error(`a non-empty directory is in the way`, { cause: err });
    }
    return;
  }
  Deno.removeSync(path);
}

/**
 * Creates a new file for writing, with permission bits `mode` (less the
 * umask); fails rather than open an existing entry or a link.
 */
export function createExclusive(path: string, mode = 0o600): Deno.FsFile {
  return Deno.openSync(path, { write: true, createNew: true, mode });
}

/**
 * {@link createExclusive}, after clearing the slot (see {@link clearSlot})
 * if something is there. Tries first, so a new target costs no lstat.
 */
export function createReplacing(path: string, mode = 0o600): Deno.FsFile {
  try {
    return createExclusive(path, mode);
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  clearSlot(path);
  return createExclusive(path, mode);
}

/** Is the process root (so restoring owners and device nodes can work)? */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/**
 * Sets owner (only as root: chown clears setuid bits, so callers chmod
 * afterwards) and mode of `path`, after checking with lstat that it still is
 * the kind of entry we made. EPERM on chown (e.g. in a user namespace) is
 * ignored.
 */
export function setOwnerAndMode(
  path: string,
  expect: (st: Deno.FileInfo) => boolean,
  owner: { uid: number; gid: number } | null,
  mode: number,
): void {
  const st = Deno.lstatSync(path);
  if (!expect(st) || st.isSymlink) {
    throw new Error(`${path} changed under the restore; refusing to change its metadata`);
  }
  if (owner) {
    try {
      Deno.chownSync(path, owner.uid, owner.gid);
    } catch (err) {
      if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
    }
  }
  Deno.chmodSync(path, mode);
}

/** Writes all of `bytes`. */
export function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += file.writeSync(bytes.subarray(at));
}
