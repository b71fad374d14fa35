/**
 * The Linux half of the platform module: libc calls through Deno's FFI,
 * opened on first use. Nothing outside `src/platform` sees a pointer.
 *
 * @module
 */
import { OsError } from "./os_error.ts";

const SYMBOLS = {
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | undefined;

function lib(): Libc {
  if (!libc) libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return libc;
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
export const ENODATA = 61;
export const ENOTSUP = 95;
export const ERANGE = 34;

function errno(): number {
  const p = lib().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

function fail(call: string, what: string): OsError {
  const e = errno();
  const s = lib().strerror(e);
  const text = s === null ? `errno ${e}` : Deno.UnsafePointerView.getCString(s);
  return new OsError(e, `${call} ${what}: ${text}`, text);
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const cstr = (s: string) => enc.encode(s + "\0");

/** Names of the extended attributes of `path` (not following a link). */
export function listXattrNames(path: string): string[] {
  const p = cstr(path);
  for (let attempt = 0;; attempt++) {
    const size = Number(lib().llistxattr(p, null, 0n));
    if (size < 0) throw fail("llistxattr", path);
    if (size === 0) return [];
    const buf = new Uint8Array(size);
    const got = Number(lib().llistxattr(p, buf, BigInt(size)));
    if (got < 0) {
      if (errno() === ERANGE && attempt < 3) continue; // grew between the calls
      throw fail("llistxattr", path);
    }
    return dec.decode(buf.subarray(0, got)).split("\0").filter((n) => n.length > 0);
  }
}

/** The value of one extended attribute, or null when it is gone. */
export function getXattr(path: string, name: string): Uint8Array | null {
  const p = cstr(path);
  const n = cstr(name);
  for (let attempt = 0;; attempt++) {
    const size = Number(lib().lgetxattr(p, n, null, 0n));
    if (size < 0) {
      if (errno() === ENODATA) return null;
      throw fail("lgetxattr", `${path} ${name}`);
    }
    const buf = new Uint8Array(size);
    if (size === 0) return buf;
    const got = Number(lib().lgetxattr(p, n, buf, BigInt(size)));
    if (got < 0) {
      if (errno() === ERANGE && attempt < 3) continue;
      if (errno() === ENODATA) return null;
      throw fail("lgetxattr", `${path} ${name}`);
    }
    return buf.subarray(0, got);
  }
}

/** Sets one extended attribute of `path` (not following a link). */
export function setXattr(path: string, name: string, value: Uint8Array): void {
  // FFI passes an empty buffer as null, which the kernel accepts for size 0.
  const r = lib().lsetxattr(cstr(path), cstr(name), value, BigInt(value.length), 0);
  if (r !== 0) throw fail("lsetxattr", `${path} ${name}`);
}

/** Sets atime and mtime (in nanoseconds) of `path` itself, even a symlink. */
export function lutimes(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  const ts = new BigInt64Array([
    atimeNs / 1_000_000_000n,
    atimeNs % 1_000_000_000n,
    mtimeNs / 1_000_000_000n,
    mtimeNs % 1_000_000_000n,
  ]);
  // A negative time's nanoseconds must lie in [0, 1e9).
  for (const i of [0, 2]) {
    if (ts[i + 1] < 0n) {
      ts[i] -= 1n;
      ts[i + 1] += 1_000_000_000n;
    }
  }
  const r = lib().utimensat(AT_FDCWD, cstr(path), new Uint8Array(ts.buffer), AT_SYMLINK_NOFOLLOW);
  if (r !== 0) throw fail("utimensat", path);
}
