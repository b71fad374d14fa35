/** A raw node object as a tree blob holds it, with defaults (nothing validated). */
export function rawNode(name: string, type: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    type,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: "0",
    ctime: "0",
    inode: 1,
    dev: 1,
    links: 1,
    ...extra,
  };
}
