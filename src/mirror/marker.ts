import { tempBeside } from "./file_writer.ts";
import { NotRegularFileError, readRegularFile } from "../heldfs/mod.ts";

/** The marker file at the top of every mirror directory. */
export const MARKER_NAME = ".cairn-mirror.json";

/** The lock file of a mirror folder (see mirror_lock.ts). */
export const MIRROR_LOCK_NAME = ".cairn-mirror.lock";

/** Names at the top of a mirror that are cairn's own: never mirrored from a source, never purged. */
export const RESERVED_NAMES: readonly string[] = [MARKER_NAME, MIRROR_LOCK_NAME];

/** What the marker says: whose mirror this is and what it holds. */
export interface MirrorMarker {
  cairn_mirror: 1;
  job: string | null;
  host: string | null;
  /** The snapshot the mirror last matched; null while the first run is under way. */
  snapshot: string | null;
  /** That snapshot's time (ISO 8601); versions are thinned by it. */
  time: string | null;
  /** False from the moment a run starts on a new directory until it completes. */
  complete: boolean;
  /** For versioned mirrors: the path template and the folder holding every version. */
  template?: string;
  versions?: string;
}

/** cairn will not mirror into a directory, to keep others' files safe. */
export class MirrorRefusedError extends Error {
  override name = "MirrorRefusedError";
}

/**
 * The marker of mirror directory `dir`; null when there is none, "invalid"
 * when unreadable. Read with O_NOFOLLOW and O_NONBLOCK: a link or FIFO
 * planted in its place is refused, never followed or waited on.
 */
export function readMarker(dir: string): MirrorMarker | null | "invalid" {
  let text: string;
  const path = `${dir === "/" ? "" : dir}/${MARKER_NAME}`;
  try {
    const { bytes } = readRegularFile(path, 65536);
    if (!bytes) return "invalid";
    text = new TextDecoder().decode(bytes);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    if (err instanceof NotRegularFileError) {
      throw new MirrorRefusedError(
        `Refusing to mirror into ${dir}: its ${MARKER_NAME} is not a regular file`,
      );
    }
    return "invalid";
  }
  try {
    const m = JSON.parse(text);
    if (m?.cairn_mirror !== 1 || typeof m.complete !== "boolean") return "invalid";
    return m as MirrorMarker;
  } catch {
    return "invalid";
  }
}

/** Replaces the marker of `dir` in one step (temp, fsync, rename). */
export function writeMarker(dir: string, marker: MirrorMarker): void {
  const path = `${dir}/${MARKER_NAME}`;
  const tmp = tempBeside(path);
  const file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o644 });
  try {
    const bytes = new TextEncoder().encode(JSON.stringify(marker, null, 2) + "\n");
    let at = 0;
    while (at < bytes.length) at += file.writeSync(bytes.subarray(at));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.renameSync(tmp, path);
}

/** A mirror directory ready to be written. */
export interface ClaimedDir {
  /** Its real path. */
  root: string;
  /** The marker found there, if any. */
  marker: MirrorMarker | null;
  /** True when the directory is (now) marked as a cairn mirror; markers are written only then. */
  claimed: boolean;
}

/**
 * The real path of mirror folder `dir`, created (with its parents) if
 * missing. A link the user chose as the folder is followed, once; anything
 * but a directory there is refused.
 */
export function openMirrorFolder(dir: string): string {
  let st: Deno.FileInfo | null;
  try {
    st = Deno.statSync(dir);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    st = null;
  }
  if (st && !st.isDirectory) throw new MirrorRefusedError(`Mirror path ${dir} is not a directory`);
  if (!st) Deno.mkdirSync(dir, { recursive: true, mode: 0o755 });
  return Deno.realPathSync(dir);
}

/**
 * Opens `dir` as a mirror, creating it if needed. A directory that is not
 * empty and has no marker is someone else's: purging into it is refused,
 * and it is never marked (so a later purge stays refused). A marker of
 * another job is refused too.
 */
export function claimMirrorDir(
  dir: string,
  opts: { purge: boolean; job?: string; host?: string; template?: string; versions?: string },
): ClaimedDir {
  const root = openMirrorFolder(dir);
  const marker = readMarker(root);
  if (marker === "invalid") {
    throw new MirrorRefusedError(
      `Refusing to mirror into ${dir}: its ${MARKER_NAME} is not a valid cairn mirror marker`,
    );
  }
  if (marker && marker.job !== null && opts.job !== undefined && marker.job !== opts.job) {
    throw new MirrorRefusedError(
      `Refusing to mirror into ${dir}: it is the mirror of job "${marker.job}", not "${opts.job}"`,
    );
  }
  if (marker) return { root, marker, claimed: true };
  let empty = true;
  for (const e of Deno.readDirSync(root)) {
    if (RESERVED_NAMES.includes(e.name)) continue; // this run's lock
    empty = false;
    break;
  }
  if (!empty) {
    if (opts.purge) {
      throw new MirrorRefusedError(
        `Refusing to purge ${dir}: it is not empty and has no ${MARKER_NAME}, so it is not a ` +
          "cairn mirror, and purging would delete every file in it that is not in the snapshot. " +
          "Mirror into a new or empty directory, or turn purge off.",
      );
    }
    return { root, marker: null, claimed: false };
  }
  writeMarker(root, {
    cairn_mirror: 1,
    job: opts.job ?? null,
    host: opts.host ?? null,
    snapshot: null,
    time: null,
    complete: false,
    ...(opts.template ? { template: opts.template, versions: opts.versions } : {}),
  });
  return { root, marker: null, claimed: true };
}
