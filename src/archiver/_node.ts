import { toBase64 } from "../crypto/mod.ts";
import { readXattrs } from "../platform/mod.ts";
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

/** The metadata part of a node, common to every type. */
export function nodeFromInfo(name: string, info: Deno.FileInfo): Node {
  const node: Node = {
    name,
    type: nodeType(info),
    mode: (info.mode ?? 0o644) & 0o7777,
    uid: info.uid ?? 0,
    gid: info.gid ?? 0,
    mtime: dateToNs(info.mtime),
    ctime: dateToNs(info.ctime),
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
 */
export function unchanged(node: Node, old: Node | undefined, size: number): boolean {
  return old !== undefined && old.type === "file" && old.size === size &&
    old.mtime === node.mtime && old.ctime === node.ctime && old.inode === node.inode &&
    old.content !== undefined;
}

/**
 * Sets `node.xattrs` from `path`, or from `old` (the entry in a parent
 * snapshot that recorded xattrs) when its ctime and inode are unchanged:
 * setting an xattr changes the ctime, so the parent's list is still right
 * and the unchanged rerun spends no llistxattr per entry.
 */
export function addXattrs(node: Node, path: string, old: Node | undefined): void {
  if (
    old !== undefined && old.type === node.type && old.ctime === node.ctime &&
    old.inode === node.inode
  ) {
    if (old.xattrs) node.xattrs = old.xattrs;
    return;
  }
  const list = readXattrs(path);
  if (list.length > 0) {
    node.xattrs = list.map((x) => ({ name: x.name, value: toBase64(x.value) }));
  }
}
