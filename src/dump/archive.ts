import { type TreeSource, walkSnapshot } from "../catalog/mod.ts";
import { type ContentSource, CorruptError, fileContent, type Node, nsToDate } from "../repo/mod.ts";
import { ZipWriter } from "./zip.ts";
import { endOfArchive, padding, type TarEntry, tarHeader } from "./tar.ts";
import { nameBytes } from "../platform/mod.ts";

/** The archive formats `cairn dump --archive` writes. */
export const ARCHIVE_FORMATS = ["tar", "zip"] as const;
export type ArchiveFormat = typeof ARCHIVE_FORMATS[number];

export interface ArchiveOptions {
  format: ArchiveFormat;
  /** Takes the archive's bytes in order; awaited, so a slow reader slows the walk. */
  write: (bytes: Uint8Array) => Promise<void>;
  signal?: AbortSignal;
  /** A data blob that cannot be read: told, and written as zeros of its length. */
  onDamaged?: (path: string, id: string, length: number, err: unknown) => void;
  /** An entry the format cannot hold (a socket): told, and left out. */
  onSkipped?: (path: string, why: string) => void;
}

export interface ArchiveResult {
  entries: number;
  bytes: number;
  damaged: number;
}

/**
 * What an archive is written from: trees to walk, file content, and each
 * blob's length (a damaged one is written as zeros of it). `Repository` is one.
 */
export interface ArchiveSource extends TreeSource, ContentSource {
  blobLength(id: string): number | undefined;
}

/**
 * Writes the snapshot entry `node` and everything below it as one archive,
 * streamed: a file's content goes out blob by blob, so memory stays small
 * whatever the size. Members are named relative to the entry's parent
 * (`home/ann` dumps as `ann/...`); the snapshot's root dumps its entries at
 * the top. Modes, owners (as numbers), times, symlinks, hard links (a
 * second name of a file is a link member) and device nodes are kept.
 */
export async function writeArchive(
  repo: ArchiveSource,
  node: Node,
  name: string,
  opts: ArchiveOptions,
): Promise<ArchiveResult> {
  const result: ArchiveResult = { entries: 0, bytes: 0, damaged: 0 };
  const write = async (b: Uint8Array) => {
    if (b.length === 0) return;
    result.bytes += b.length;
    await opts.write(b);
  };
  const links = new Map<string, string>();
  const content = async function* (path: string, n: Node): AsyncGenerator<Uint8Array> {
    const onDamaged = (id: string, err: unknown) => {
      result.damaged++;
      const length = repo.blobLength(id) ?? 0;
      opts.onDamaged?.(path, id, length, err);
      return new Uint8Array(length);
    };
    try {
      yield* fileContent(repo, n.content ?? [], { signal: opts.signal, size: n.size, onDamaged });
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      throw new CorruptError(`/${path}: ${err.message}`, { cause: err });
    }
  };
  const zip = opts.format === "zip" ? new ZipWriter(write) : undefined;
  const member = async (path: string, n: Node) => {
    if (zip) {
      if (n.type !== "file" && n.type !== "dir" && n.type !== "symlink") {
        opts.onSkipped?.(`/${path}`, `a ${n.type} cannot be stored in a zip archive`);
        return;
      }
      result.entries++;
      const e = {
        path: n.type === "dir" ? path + "/" : path,
        type: n.type,
        mode: n.mode,
        uid: n.uid,
        gid: n.gid,
        mtime: nsToDate(n.mtime),
      };
      // Zip has no hard links: each name gets the file's content.
      if (n.type === "file") await zip.add(e, content(path, n));
      else if (n.type === "symlink") await zip.add(e, nameBytes(n.target ?? ""));
      else await zip.add(e);
      return;
    }
    const entry = tarEntry(path, n, links, opts.onSkipped);
    if (!entry) return;
    result.entries++;
    await write(tarHeader(entry));
    if (entry.type !== "file" || entry.size === 0) return;
    for await (const blob of content(path, n)) await write(blob);
    await write(padding(entry.size));
  };
  if (name !== "") await member(name, node);
  if (node.type === "dir" && node.subtree) {
    for await (
      const e of walkSnapshot(repo, node.subtree, {
        prefix: name === "" ? "/" : `/${name}`,
        signal: opts.signal,
      })
    ) await member(e.path.slice(1), e.node);
  }
  if (zip) await zip.finish();
  else await write(endOfArchive());
  return result;
}

/** The tar member of a node, or undefined for one tar cannot hold. */
function tarEntry(
  path: string,
  n: Node,
  links: Map<string, string>,
  onSkipped: ArchiveOptions["onSkipped"],
): TarEntry | undefined {
  const base = {
    path,
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    size: 0,
    mtimeNs: BigInt(n.mtime),
  };
  switch (n.type) {
    case "dir":
      return { ...base, path: path + "/", type: "dir" };
    case "symlink":
      return { ...base, type: "symlink", linkname: n.target ?? "" };
    case "fifo":
      return { ...base, type: "fifo" };
    case "chardev":
    case "blockdev":
      return { ...base, type: n.type, ...devNumbers(n.rdev ?? 0) };
    case "file": {
      if (n.links > 1) {
        const key = `${n.dev}:${n.inode}`;
        const first = links.get(key);
        if (first !== undefined) return { ...base, type: "hardlink", linkname: first };
        links.set(key, path);
      }
      return { ...base, type: "file", size: n.size ?? 0 };
    }
    default:
      onSkipped?.(`/${path}`, `a ${n.type} cannot be stored in a tar archive`);
      return undefined;
  }
}

/** Linux's major and minor of a device number (glibc's gnu_dev_major/minor). */
function devNumbers(rdev: number): { devmajor: number; devminor: number } {
  const r = BigInt(rdev);
  const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
  const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
  return { devmajor: Number(major), devminor: Number(minor) };
}
