/**
 * POSIX tar (ustar headers, with a pax extended header for what ustar cannot
 * hold: paths over 100 bytes or not ASCII, sizes of 8 GiB and more, large
 * ids, sub-second times), as GNU tar and bsdtar read it.
 */
import { isByteName, nameBytes } from "../platform/mod.ts";

/** One archive member's header fields. */
export interface TarEntry {
  /** Relative path; directories end with `/`. */
  path: string;
  type: "file" | "hardlink" | "symlink" | "chardev" | "blockdev" | "dir" | "fifo";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Symlink target, or the earlier member a hard link names. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const TYPE_FLAG: Record<TarEntry["type"], string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  chardev: "3",
  blockdev: "4",
  dir: "5",
  fifo: "6",
};

export const BLOCK = 512;
/** A name's bytes: UTF-8, or for a name that is not UTF-8 its exact bytes. */
const enc = { encode: nameBytes };

/** The bytes that pad a member's content of `size` bytes to a whole block. */
export function padding(size: number): Uint8Array {
  return new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** The header block(s) of one member: a pax header first when ustar is not enough. */
export function tarHeader(e: TarEntry): Uint8Array {
  const pax: [string, string][] = [];
  // A name that is not UTF-8 has no charset to declare: ustar's fields hold its
  // bytes as they are, and a longer one goes in pax as bytes too (GNU tar reads them so).
  const name = enc.encode(e.path);
  if (name.length > 100 || !(isAscii(e.path) || isByteName(e.path))) pax.push(["path", e.path]);
  if (e.linkname !== undefined) {
    const link = e.linkname;
    if (enc.encode(link).length > 100 || !(isAscii(link) || isByteName(link))) {
      pax.push(["linkpath", e.linkname]);
    }
  }
  const OCT11 = 0o77777777777;
  const OCT7 = 0o7777777;
  if (e.size > OCT11) pax.push(["size", String(e.size)]);
  if (e.uid > OCT7) pax.push(["uid", String(e.uid)]);
  if (e.gid > OCT7) pax.push(["gid", String(e.gid)]);
  const ns = e.mtimeNs;
  const secs = Number(ns >= 0n ? ns / 1_000_000_000n : (ns - 999_999_999n) / 1_000_000_000n);
  if (ns % 1_000_000_000n !== 0n || secs < 0 || secs > OCT11) pax.push(["mtime", paxTime(ns)]);
  const ustar = ustarBlock(e, TYPE_FLAG[e.type], {
    size: e.size > OCT11 ? 0 : e.size,
    uid: e.uid > OCT7 ? 0 : e.uid,
    gid: e.gid > OCT7 ? 0 : e.gid,
    mtime: Math.min(Math.max(secs, 0), OCT11),
  });
  if (pax.length === 0) return ustar;
  const body = enc.encode(pax.map(([k, v]) => paxRecord(k, v)).join(""));
  const head = ustarBlock(
    {
      ...e,
      path: paxName(e.path),
      linkname: undefined,
      devmajor: undefined,
      devminor: undefined,
    },
    "x",
    { size: body.length, uid: 0, gid: 0, mtime: Math.min(Math.max(secs, 0), OCT11) },
  );
  const out = new Uint8Array(BLOCK + body.length + padding(body.length).length + BLOCK);
  out.set(head, 0);
  out.set(body, BLOCK);
  out.set(ustar, out.length - BLOCK);
  return out;
}

/** Nanoseconds as pax writes a time: seconds, and a fraction without trailing zeros. */
function paxTime(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  const frac = String(a % 1_000_000_000n).padStart(9, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${a / 1_000_000_000n}${frac ? `.${frac}` : ""}`;
}

/** `"%d %s=%s\n"` where the length counts itself. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restLen = enc.encode(rest).length;
  let len = restLen + String(restLen).length;
  if (String(len).length + restLen !== len) len = restLen + String(len).length;
  return `${len}${rest}`;
}

/** The name of a pax header member, as GNU tar makes it: ASCII and short. */
function paxName(path: string): string {
  const base = path.replace(/\/$/, "").split("/").pop() ?? "";
  const safe = base.replace(/[^\x20-\x7e]/g, "_").slice(0, 80);
  return `PaxHeaders/${safe}`;
}

function ustarBlock(
  e: TarEntry,
  flag: string,
  n: { size: number; uid: number; gid: number; mtime: number },
): Uint8Array {
  const b = new Uint8Array(BLOCK);
  const put = (at: number, len: number, s: string) => {
    const bytes = enc.encode(s);
    b.set(bytes.subarray(0, len), at);
  };
  const oct = (at: number, len: number, v: number) =>
    put(at, len, v.toString(8).padStart(len - 1, "0"));
  let name = e.path;
  let prefix = "";
  if (enc.encode(name).length > 100) {
    // ustar's prefix field; the pax header holds the whole path anyway.
    const cut = name.lastIndexOf("/", name.length - 2);
    if (cut > 0 && cut <= 155 && name.length - cut - 1 <= 100 && isAscii(name)) {
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
  }
  put(0, 100, name);
  oct(100, 8, e.mode & 0o7777);
  oct(108, 8, n.uid);
  oct(116, 8, n.gid);
  oct(124, 12, n.size);
  oct(136, 12, n.mtime);
  b.fill(0x20, 148, 156); // checksum counts as spaces
  put(156, 1, flag);
  if (e.linkname !== undefined) put(157, 100, e.linkname);
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  if (e.devmajor !== undefined) oct(329, 8, e.devmajor);
  if (e.devminor !== undefined) oct(337, 8, e.devminor);
  put(345, 155, prefix);
  let sum = 0;
  for (const x of b) sum += x;
  put(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return b;
}
