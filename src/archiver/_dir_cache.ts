/**
 * The directory cache of an unchanged rerun: for each directory of the last
 * snapshot, a fingerprint of exactly what the unchanged-file rule and the
 * nodes of its tree are made of (every entry's name and lstat fields but the
 * atime), with the tree id the directory had. A directory whose listing
 * gives the same fingerprint, and whose subdirectories all keep their
 * trees, keeps its tree without the parent tree being loaded or parsed.
 *
 * The file is written by a backup that reported no error, under the local
 * cache folder, and is used only by the backup whose parent is the snapshot
 * it was written for, with the same selection options, while every index
 * file it saw is still there (so every blob that snapshot reached is still
 * indexed, as the unchanged-file rule checks). It is authenticated with a
 * key derived from the repository's id key: a missing, stale, damaged or
 * tampered file is ignored and the backup compares with the parent's trees.
 *
 * @module
 */
import { equalBytes, keyedId, sha256 } from "../crypto/mod.ts";
import { concatBytes } from "../fs/mod.ts";
import type { DirEntry } from "../walker/mod.ts";
import { createHash } from "node:crypto";

const VERSION = 1;
const MAC_BYTES = 32;
const KEY_LABEL = new TextEncoder().encode("cairn directory cache v1");

/** What a cache must have been written under to be used. */
export interface DirCacheScope {
  /** The repository's id (its config's). */
  repo: string;
  /** The selection options and sources that decide what a tree holds, as one string. */
  options: string;
}

interface Body {
  v: number;
  repo: string;
  options: string;
  snapshot: string;
  index: string[];
  /** path, fingerprint, tree id */
  dirs: [string, string, string][];
}

/** The key that authenticates a repository's directory caches. */
export function dirCacheKey(idKey: Uint8Array): Uint8Array {
  return sha256(concatBytes([KEY_LABEL, idKey]));
}

/**
 * The fingerprint of a directory's listing, or undefined when its entries
 * cannot be fingerprinted (a time without nanoseconds, a name that is not
 * well-formed text). `settled` says whether every entry's ctime lies before
 * `beforeMs`: only then may the directory be cached, as only then does the
 * archiver reuse a parent's xattrs and flags (a change in the same clock
 * tick as the last read would not show in the ctime).
 */
export function fingerprint(
  entries: readonly DirEntry[],
  beforeMs: number,
): { fp: string; settled: boolean } | undefined {
  let text = "";
  let settled = true;
  for (let i = 0; i < entries.length; i++) {
    const { name, info } = entries[i];
    const m = info.mtimeNs;
    const c = info.ctimeNs;
    if (m === undefined || c === undefined) return undefined;
    if (!(c.length > 6 && c[0] !== "-" && Number(c.slice(0, -6)) < beforeMs)) settled = false;
    // A name holds no NUL: eleven fields each ended by one cannot run together.
    text +=
      `${name}\0${info.mode}\0${info.size}\0${m}\0${c}\0${info.uid}\0${info.gid}\0${info.ino}\0${info.dev}\0${info.nlink}\0${info.rdev}\0`;
  }
  if (!text.isWellFormed()) return undefined;
  return { fp: createHash("sha256").update(text).digest("base64"), settled };
}

/** A loaded cache: the parent snapshot's directories by path. */
export class DirCache {
  constructor(readonly dirs: Map<string, [string, string]>) {}

  /** The parent's tree of `path` if its listing still has fingerprint `fp`. */
  hit(path: string, fp: string, treeId: string | undefined): boolean {
    const e = this.dirs.get(path);
    return e !== undefined && treeId !== undefined && e[0] === fp && e[1] === treeId;
  }

  /** The parent's tree of `path`, if cached. */
  tree(path: string): string | undefined {
    return this.dirs.get(path)?.[1];
  }
}

/**
 * Reads the cache at `file` if it was written for snapshot `parent` in this
 * scope and every index file it names is still in `indexFiles`; else undefined.
 */
export async function loadDirCache(
  file: string,
  key: Uint8Array,
  scope: DirCacheScope,
  parent: string,
  indexFiles: readonly string[],
): Promise<DirCache | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file);
  } catch {
    return undefined;
  }
  if (bytes.length < MAC_BYTES) return undefined;
  const text = bytes.subarray(0, bytes.length - MAC_BYTES);
  if (!equalBytes(keyedId(key, text), bytes.subarray(bytes.length - MAC_BYTES))) return undefined;
  let body: Body;
  try {
    body = JSON.parse(new TextDecoder().decode(text));
  } catch {
    return undefined;
  }
  if (
    body.v !== VERSION || body.repo !== scope.repo || body.options !== scope.options ||
    body.snapshot !== parent || !Array.isArray(body.dirs) || !Array.isArray(body.index)
  ) return undefined;
  const have = new Set(indexFiles);
  if (!body.index.every((n) => have.has(n))) return undefined;
  const dirs = new Map<string, [string, string]>();
  for (const [path, fp, tree] of body.dirs) dirs.set(path, [fp, tree]);
  return new DirCache(dirs);
}

/**
 * Writes the cache of snapshot `snapshot`: to a temp file renamed into place,
 * without fsync, since a torn file fails its check and is only ignored.
 * Failures are the caller's to ignore.
 */
export async function saveDirCache(
  file: string,
  key: Uint8Array,
  scope: DirCacheScope,
  snapshot: string,
  indexFiles: readonly string[],
  dirs: [string, string, string][],
): Promise<void> {
  const body: Body = { v: VERSION, ...scope, snapshot, index: [...indexFiles], dirs };
  const text = new TextEncoder().encode(JSON.stringify(body));
  await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
  const temp = `${file}.${Deno.pid}.tmp`;
  try {
    await Deno.writeFile(temp, concatBytes([text, keyedId(key, text)]), { mode: 0o600 });
    await Deno.rename(temp, file);
  } catch (err) {
    await Deno.remove(temp).catch(() => {});
    throw err;
  }
}
