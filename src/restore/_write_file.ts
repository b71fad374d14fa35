/**
 * Writing one restored file, the same way on the main thread and in a
 * restore worker (`_worker.ts`): created with O_EXCL through a held
 * directory's path (anything in the way is unlinked first, never followed),
 * blocks of zeros left as holes, then owner, mode, xattrs, times and last
 * the inode flags (an immutable file takes nothing after them). A file
 * that fails part way is removed: no truncated file is left behind.
 */
import { equalBytes, fromBase64, fromHex, keyedId } from "../crypto/mod.ts";
import { CorruptError, type NodeXattr } from "../repo/mod.ts";
import {
  byteFs,
  type NewFile,
  OsError,
  setTimes,
  SparseWriter,
  supported as platformSupported,
  writeFileFlags,
  writeXattr,
} from "../platform/mod.ts";
import { createReplacing, createReplacingNew, setOwnerAndMode } from "./_safe_fs.ts";

/** What a restored file must end up as; plain data, sent to workers as is. */
export interface FileSpec {
  /** Where to write it: an entry of a held directory (`HeldDir.at`). */
  path: string;
  /**
   * The same entry as that directory's descriptor and the entry's name,
   * for openat (the descriptor is the process's: workers are threads).
   */
  at?: { fd: number; name: string };
  size: number;
  /** Final permission bits (special bits already dropped unless asked for). */
  mode: number;
  /** Set only when running as root. */
  owner: { uid: number; gid: number } | null;
  /** Its directory is setgid: a new file takes that group, not ours. */
  setgidDir: boolean;
  /** Times, nanoseconds since the epoch as trees hold them. */
  atimeNs: string;
  mtimeNs: string;
  /** Extended attributes to set; undefined when none or not wanted. */
  xattrs?: NodeXattr[];
  /** Inode flags (chattr's) to set last; undefined when none or not wanted. */
  flags?: number;
  /** Reread the file once written and check each blob's bytes against its id (`--verify`). */
  verify?: { idKey: Uint8Array; ids: readonly string[] };
}

/** Who we are: a new file is owned by this user and (mostly) this group. */
const SELF = { uid: Deno.uid(), gid: Deno.gid() };
/** Permission bits open(2) leaves out of a new file's mode. */
const UMASK = Deno.umask();

/**
 * Writes `content` to a new file at `spec.path` and gives it its metadata.
 * Returns the bytes written and one warning per extended attribute that
 * could not be set (the data stays restored).
 */
export async function writeRestoredFile(
  spec: FileSpec,
  content: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<{ bytes: number; warnings: string[] }> {
  const { path, owner, mode } = spec;
  // A file that will be ours anyway is created with its final permission
  // bits, and when nothing can make them differ (the umask, a setgid
  // directory, special bits), or the descriptor's stat shows they do not,
  // it needs no chown or chmod. Otherwise only we may read it until it has
  // its real owner and mode.
  const asFinal = !owner || (owner.uid === SELF.uid && owner.gid === SELF.gid);
  const createMode = asFinal ? mode & 0o777 : 0o600;
  // On Linux a raw descriptor: owner, mode and times set through it, no path lookups.
  const raw = platformSupported
    ? createReplacingNew(path, createMode, !!spec.verify, spec.at)
    : undefined;
  const file: Deno.FsFile | NewFile = raw ?? createReplacing(path, createMode);
  let ok = false;
  try {
    const surely = asFinal && (mode & 0o777 & ~UMASK) === mode && !(owner && spec.setgidDir);
    const created = surely ? undefined : raw ? raw.stat() : (file as Deno.FsFile).statSync();
    const final = surely || (asFinal && (created!.mode! & 0o7777) === mode &&
      (!owner || (created!.uid === owner.uid && created!.gid === owner.gid)));
    // Blocks of zeros are skipped, not written, so holes come back as holes
    // (the file is new and empty, so what is skipped reads as zeros).
    const out = new SparseWriter(file);
    const lengths: number[] = [];
    for await (const blob of content) {
      out.write(blob);
      lengths.push(blob.length);
    }
    const written = out.size;
    if (written !== spec.size) {
      throw new CorruptError(`content is ${written} bytes, but the snapshot says ${spec.size}`);
    }
    out.finish();
    if (spec.verify) verifyWritten(file, spec.verify.idKey, spec.verify.ids, lengths);
    if (!final && raw) {
      if (owner) {
        try {
          raw.chown(owner.uid, owner.gid);
        } catch (err) {
          if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
        }
      }
      raw.chmod(mode);
    } else if (!final) {
      setOwnerAndMode(
        path,
        (st) => st.isFile && st.ino === created!.ino && st.dev === created!.dev,
        owner,
        mode,
      );
    }
    // After chown and chmod: chown clears a capability, chmod would rewrite an ACL's mask.
    const warnings = setXattrs(path, spec.xattrs);
    // By the descriptor, or by its held name, not following a link (Deno's file
    // utime has only milliseconds).
    if (raw) raw.setTimes(spec.atimeNs, spec.mtimeNs);
    else setTimes(path, spec.atimeNs, spec.mtimeNs);
    warnings.push(...setFlags(path, spec.flags));
    ok = true;
    return { bytes: written, warnings };
  } finally {
    file.close();
    if (!ok) {
      try {
        byteFs.removeSync(path);
      } catch { /* best effort: leave no truncated file behind */ }
    }
  }
}

/**
 * Sets `xattrs` on `path` itself (never through a link). Returns one message
 * per attribute that could not be set (no permission, no xattrs there).
 */
export function setXattrs(path: string, xattrs: readonly NodeXattr[] | undefined): string[] {
  if (!xattrs?.length) return [];
  if (!platformSupported) {
    return [`extended attributes not restored: not supported on ${Deno.build.os}`];
  }
  const warnings: string[] = [];
  for (const x of xattrs) {
    try {
      writeXattr(path, x.name, fromBase64(x.value));
    } catch (err) {
      const why = err instanceof OsError ? err.reason : (err as Error).message;
      warnings.push(`extended attribute ${x.name} not restored: ${why}`);
    }
  }
  return warnings;
}

/**
 * Sets the inode flags (chattr's) of `path`: after everything else, since
 * an immutable or append-only file takes no more changes. Returns one
 * message naming the flags that could not be set, or none.
 */
export function setFlags(path: string, flags: number | undefined): string[] {
  if (!flags) return [];
  if (!platformSupported) return [`file flags not restored: not supported on ${Deno.build.os}`];
  const refused = writeFileFlags(path, flags);
  return refused ? [`file flags +${refused.letters} not restored: ${refused.why}`] : [];
}

/** Rereads `file` from the start, blob by blob, and checks each against its id. */
function verifyWritten(
  file: Pick<Deno.FsFile, "seekSync" | "readSync">,
  idKey: Uint8Array,
  ids: readonly string[],
  lengths: readonly number[],
): void {
  file.seekSync(0, Deno.SeekMode.Start);
  for (let i = 0; i < ids.length; i++) {
    const buf = new Uint8Array(lengths[i]);
    let at = 0;
    while (at < buf.length) {
      const n = file.readSync(buf.subarray(at));
      if (n === null || n === 0) break;
      at += n;
    }
    if (at !== buf.length || !equalBytes(keyedId(idKey, buf), fromHex(ids[i]))) {
      throw new CorruptError(`verify failed: blob ${i + 1} of ${ids.length} reads back wrong`);
    }
  }
}
