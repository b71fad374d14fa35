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
import { lstatOrNull } from "../fs/mod.ts";
import { byteFs, NewFile } from "../platform/mod.ts";

/**
 * Clears the place where a non-directory entry goes: a file, link, FIFO…
 * already there is unlinked; an empty directory is removed; a non-empty
 * directory is an error (its contents are not ours to delete).
 */
export function clearSlot(path: string): void {
  const st = lstatOrNull(path, byteFs.lstatSync);
  if (!st) return;
  if (st.isDirectory) {
    try {
      byteFs.removeSync(path);
    } catch (err) {
      throw new Error(`a non-empty directory is in the way`, { cause: err });
    }
    return;
  }
  byteFs.removeSync(path);
}

/**
 * Creates a new file for writing, with permission bits `mode` (less the
 * umask); fails rather than open an existing entry or a link.
 */
export function createExclusive(path: string, mode = 0o600): Deno.FsFile {
  // Readable too, so `--verify` rereads what was written through the same descriptor.
  return byteFs.openSync(path, { read: true, write: true, createNew: true, mode });
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

/**
 * {@link createReplacing} as a {@link NewFile} (Linux): the same O_EXCL
 * create, not following a link, on a raw descriptor; given `at`, `path` is
 * entry `at.name` of the directory held as `at.fd`, opened by openat.
 */
export function createReplacingNew(
  path: string,
  mode: number,
  read: boolean,
  at?: { fd: number; name: string },
): NewFile {
  const create = () =>
    at ? NewFile.createAt(at.fd, at.name, path, mode, read) : NewFile.create(path, mode, read);
  try {
    return create();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  clearSlot(path);
  return create();
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
  const st = byteFs.lstatSync(path);
  if (!expect(st) || st.isSymlink) {
    throw new Error(`${path} changed under the restore; refusing to change its metadata`);
  }
  if (owner) {
    try {
      byteFs.chownSync(path, owner.uid, owner.gid);
    } catch (err) {
      if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
    }
  }
  byteFs.chmodSync(path, mode);
}
