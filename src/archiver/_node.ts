import { toBase64 } from "../crypto/mod.ts";
import { type FileStat, readFileFlags, readXattrs } from "../platform/mod.ts";
import { dateToNs, type Node, type NodeType } from "../repo/mod.ts";

/** The node type of an lstat result. */
export function nodeType(info: Deno.FileInfo): NodeType {
  if (info.isFile) return "file";
  if (info.isDirectory) return "dir";
  if (info.isSymlink) return "symlink";
  if (info.isFifo) return "fifo";
  if (info.isSocket) return "socket";
  if (info.isCharDevice) return "chardev";
  if (info.isBlockDevice) return "blockdev";
  return "file";
}

/**
 * The metadata part of a node, common to every type. Times are to the
 * nanosecond when `info` came from the platform's lstat (a {@link FileStat}).
 */
export function nodeFromInfo(name: string, info: Deno.FileInfo | FileStat): Node {
  const ns = "mtimeNs" in info ? info : undefined;
  const node: Node = {
    name,
    type: nodeType(info),
    mode: (info.mode ?? 0o644) & 0o7777,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
    mtime: ns?.mtimeNs ?? dateToNs(info.mtime),
    ctime: ns?.ctimeNs ?? dateToNs(info.ctime),
    inode: info.ino ?? 0,
    dev: info.dev ?? 0,
    links: info.nlink ?? 1,
  };
  if (node.type === "chardev" || node.type === "blockdev") node.rdev = info.rdev ?? 0;
  return node;
}

/**
 * Can a file's content be taken from its node in the parent snapshot without
 * reading it? Only when size, mtime, ctime and inode are all unchanged.
 * `coarse`: the parent's times are Deno's own (before `ns_times`), so they
 * are compared at its precision, mtime to the millisecond and ctime to the
 * second, and an upgrade does not read every file again.
 */
export function unchanged(
  node: Node,
  old: Node | undefined,
  size: number,
  coarse = false,
): boolean {
  return old !== undefined && old.type === "file" && old.size === size &&
    sameTimes(node, old, coarse) && old.inode === node.inode && old.content !== undefined;
}

/** Do `a` and `b` have the same mtime and ctime (at Deno's precision when `coarse`)? */
export function sameTimes(a: Node, b: Node, coarse: boolean): boolean {
  if (!coarse) return a.mtime === b.mtime && a.ctime === b.ctime;
  return floorNs(a.mtime, 6) === floorNs(b.mtime, 6) && floorNs(a.ctime, 9) === floorNs(b.ctime, 9);
}

/** A nanosecond time rounded down to a multiple of 10^`digits` nanoseconds. */
function floorNs(ns: string, digits: number): string {
  if (!ns.startsWith("-")) return ns.length > digits ? ns.slice(0, -digits) : "0";
  const unit = 10n ** BigInt(digits);
  const n = BigInt(ns);
  return (n / unit - (n % unit === 0n ? 0n : 1n)).toString();
}

/**
 * Sets `node.xattrs` from `path`, or from `old` (the entry in a parent
 * snapshot that recorded xattrs) when its ctime and inode are unchanged:
 * setting an xattr changes the ctime, so the parent's list is still right
 * and the unchanged rerun spends no llistxattr per entry.
 */
export function addXattrs(
  node: Node,
  path: string,
  old: Node | undefined,
  coarse = false,
): void {
  if (
    old !== undefined && old.type === node.type && old.inode === node.inode &&
    (coarse ? floorNs(old.ctime, 9) === floorNs(node.ctime, 9) : old.ctime === node.ctime)
  ) {
    if (old.xattrs) node.xattrs = old.xattrs;
    return;
  }
  const list = readXattrs(path);
  if (list.length > 0) {
    node.xattrs = list.map((x) => ({ name: x.name, value: toBase64(x.value) }));
  }
}

/**
 * Sets `node.flags` (chattr's) of a file or directory from `path`, or from
 * `old` when its ctime and inode are unchanged, as {@link addXattrs} does:
 * changing a flag changes the ctime.
 */
export function addFlags(node: Node, path: string, old: Node | undefined, coarse = false): void {
  if (node.type !== "file" && node.type !== "dir") return;
  if (
    old !== undefined && old.type === node.type && old.inode === node.inode &&
    (coarse ? floorNs(old.ctime, 9) === floorNs(node.ctime, 9) : old.ctime === node.ctime)
  ) {
    if (old.flags) node.flags = old.flags;
    return;
  }
  const flags = readFileFlags(path);
  if (flags !== 0) node.flags = flags;
}
