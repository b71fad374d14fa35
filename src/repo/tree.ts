import { fromBase64, fromUtf8, toBase64, utf8 } from "../crypto/mod.ts";
import { isByteName, nameBytes, nameOfBytes, showName } from "../platform/mod.ts";
import { CorruptError, isId } from "./format.ts";

/** What kind of filesystem object a node records. */
export type NodeType = "file" | "dir" | "symlink" | "fifo" | "socket" | "chardev" | "blockdev";

const NODE_TYPES = new Set<NodeType>([
  "file",
  "dir",
  "symlink",
  "fifo",
  "socket",
  "chardev",
  "blockdev",
]);

/**
 * One entry of a directory listing. Times are decimal strings of
 * nanoseconds since the epoch: Deno gives milliseconds today, and the
 * format has room for the full precision later.
 */
export interface Node {
  /**
   * The entry's name. One that is not UTF-8 is held with each such byte as
   * U+DC00 + byte (see the platform module's byte names); stored, it is a
   * printable stand-in in `name` and the exact bytes in `name_bytes`.
   */
  name: string;
  type: NodeType;
  /** Permission bits, including setuid, setgid and sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: string;
  ctime: string;
  atime?: string;
  inode: number;
  dev: number;
  links: number;
  /** file: byte size; content: ids of its data blobs, in order. */
  size?: number;
  content?: string[];
  /** dir: id of its tree blob. */
  subtree?: string;
  /** symlink: the link's target, as is. */
  target?: string;
  /** chardev/blockdev: the device number. */
  rdev?: number;
  /**
   * Extended attributes of any type of entry (POSIX ACLs and capabilities
   * are `system.posix_acl_*` and `security.capability`), sorted by name;
   * values base64. Absent when there are none or they were not read.
   */
  xattrs?: NodeXattr[];
  /**
   * file/dir: the inode flags chattr sets (`FS_IOC_GETFLAGS` bits, e.g.
   * 0x10 immutable, 0x20 append only). Absent when none or not read.
   */
  flags?: number;
}

/** One extended attribute as a tree records it. */
export interface NodeXattr {
  name: string;
  /** The raw value, base64. */
  value: string;
}

/** A directory listing: nodes sorted by name. */
export interface Tree {
  nodes: Node[];
}

/** Is `name` a single, safe path component? Checked on every tree read. */
export function isSafeName(name: unknown): name is string {
  return typeof name === "string" && name.length > 0 && name !== "." && name !== ".." &&
    !name.includes("/") && !name.includes("\0");
}

/** Serialises a tree; nodes must already be sorted by name. */
export function encodeTree(tree: Tree): Uint8Array {
  if (!tree.nodes.some((n) => isByteName(n.name))) return utf8(JSON.stringify(tree));
  return utf8(JSON.stringify({ ...tree, nodes: withStandIns(tree.nodes) }));
}

/**
 * The nodes as stored: a name that is not UTF-8 becomes a printable
 * stand-in (its bytes as `\xHH`, with `~N` added should that be another
 * entry's name) and `name_bytes` (the bytes, base64) right after it.
 * Stored nodes are sorted by the names stored, as every reader expects;
 * {@link decodeTree} sorts them by the names they stand for again.
 */
function withStandIns(nodes: readonly Node[]): object[] {
  const taken = new Set(nodes.map((n) => n.name));
  return nodes.map((n) => {
    if (!isByteName(n.name)) return n;
    const shown = showName(n.name);
    let stand = shown;
    for (let i = 1; taken.has(stand); i++) stand = `${shown}~${i}`;
    taken.add(stand);
    const { name: _, ...rest } = n;
    return { name: stand, name_bytes: toBase64(nameBytes(n.name)), ...rest };
  }).sort((a, b) => byName(a.name, b.name));
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The name `name_bytes` (base64) stands for, or null when it is not a byte
 * name at all or not a single safe component (`/`, NUL, `.`, `..`).
 */
function byteName(b64: unknown): string | null {
  if (typeof b64 !== "string" || b64.length % 4 !== 0 || !BASE64.test(b64)) return null;
  const bytes = fromBase64(b64);
  if (bytes.includes(0x2f) || bytes.includes(0)) return null;
  const name = nameOfBytes(bytes);
  // UTF-8 is spelled in `name`; only other bytes may be.
  return isByteName(name) && isSafeName(name) ? name : null;
}

const isUint = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
const isNs = (s: unknown) => typeof s === "string" && /^-?\d{1,30}$/.test(s);

/**
 * Parses and validates a tree blob. Every name must be a single path
 * component and every node well formed: a tree is data from the repository
 * and is never trusted to be safe to act on.
 */
export function decodeTree(bytes: Uint8Array, id: string): Tree {
  try {
    return parseTree(bytes, id);
  } catch (err) {
    if (!(err instanceof CorruptError)) throw err;
    throw new InvalidTreeError(err.message, { cause: err.cause });
  }
}

/**
 * A tree that was read and authenticated but is not a valid tree (an unsafe
 * name, a malformed node): written by someone holding the key, so callers
 * stop rather than work around it, unlike a tree that cannot be read.
 */
export class InvalidTreeError extends CorruptError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidTreeError";
  }
}

function parseTree(bytes: Uint8Array, id: string): Tree {
  const what = `tree ${id}`;
  let json: { nodes: (Node & { name_bytes?: string })[] };
  try {
    json = JSON.parse(fromUtf8(bytes));
  } catch (err) {
    throw new CorruptError(`${what} is not valid JSON`, { cause: err });
  }
  if (!json || !Array.isArray(json.nodes)) throw new CorruptError(`${what} has no node list`);
  const seen = new Set<string>();
  let byteNames = false;
  // No closure or array per node: this runs for every node of every parent tree a backup reads.
  const bad = (n: Node | undefined, why: string) =>
    new CorruptError(`${what}: node ${JSON.stringify(n?.name)} ${why}`);
  for (const n of json.nodes) {
    if (!isSafeName(n?.name)) throw bad(n, "has an unsafe name");
    if (n.name_bytes !== undefined) {
      const name = byteName(n.name_bytes);
      if (name === null) throw bad(n, "has malformed name_bytes");
      n.name = name;
      delete n.name_bytes;
      byteNames = true;
    }
    if (seen.has(n.name)) throw bad(n, "appears twice");
    seen.add(n.name);
    if (!NODE_TYPES.has(n.type)) throw bad(n, `has unknown type ${JSON.stringify(n.type)}`);
    if (
      !isUint(n.mode) || !isUint(n.uid) || !isUint(n.gid) || !isUint(n.inode) ||
      !isUint(n.dev) || !isUint(n.links)
    ) {
      throw bad(n, "has a malformed number");
    }
    if (!isNs(n.mtime) || !isNs(n.ctime) || (n.atime !== undefined && !isNs(n.atime))) {
      throw bad(n, "has a malformed time");
    }
    if (n.type === "file") {
      if (!isUint(n.size) || !Array.isArray(n.content) || !n.content.every(isId)) {
        throw bad(n, "has malformed content");
      }
    } else if (n.type === "dir") {
      if (!isId(n.subtree)) throw bad(n, "has no subtree");
    } else if (n.type === "symlink") {
      if (typeof n.target !== "string" || n.target.includes("\0")) throw bad(n, "has a bad target");
    }
    if (n.xattrs !== undefined && !isXattrList(n.xattrs)) throw bad(n, "has malformed xattrs");
    if (n.flags !== undefined && !(isUint(n.flags) && n.flags > 0 && n.flags <= 0xffffffff)) {
      throw bad(n, "has malformed flags");
    }
  }
  // In memory, nodes are sorted by the names they stand for (see withStandIns).
  if (byteNames) json.nodes.sort((a, b) => byName(a.name, b.name));
  return json;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Names non-empty, without NUL, strictly sorted; values base64. */
function isXattrList(list: unknown): list is NodeXattr[] {
  if (!Array.isArray(list)) return false;
  let prev = "";
  for (const x of list) {
    if (typeof x?.name !== "string" || x.name === "" || x.name.includes("\0")) return false;
    if (typeof x.value !== "string" || x.value.length % 4 !== 0 || !BASE64.test(x.value)) {
      return false;
    }
    if (prev !== "" && !(prev < x.name)) return false;
    prev = x.name;
  }
  return true;
}

/** Nanoseconds-since-epoch string of a Date (or 0 when absent). */
export function dateToNs(d: Date | null | undefined): string {
  if (!d) return "0";
  const ms = d.getTime();
  // String arithmetic: this runs twice per file in every backup, and BigInt is slow.
  return ms > 0 ? `${ms}000000` : (BigInt(ms) * 1_000_000n).toString();
}

/** Date of a nanosecond string (millisecond precision, as Deno can set). */
export function nsToDate(ns: string): Date {
  return new Date(Number(BigInt(ns) / 1_000_000n));
}
