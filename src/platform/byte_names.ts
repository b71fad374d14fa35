/**
 * Names that are not valid UTF-8 ("byte names"), held in ordinary strings.
 *
 * A file name on Linux is any bytes but `/` and NUL. Every valid UTF-8
 * sequence reads as its character; each byte that is not part of one reads
 * as the lone surrogate U+DC00 + byte (U+DC80–U+DCFF), as Python's
 * `surrogateescape` does. No valid UTF-8 decodes to a lone surrogate, so
 * the mapping is one to one and {@link nameBytes} gives back the exact bytes.
 * Deno's own calls would write such a surrogate as U+FFFD, so a path that
 * holds one goes through this folder's libc calls instead.
 *
 * @module
 */

/** True for every byte name (and a few valid names too: cheap, then {@link isByteName} decides). */
export const BYTE_NAME_HINT = /[\uDC80-\uDCFF]/;

/** Does `s` hold a byte that is not UTF-8 (a lone U+DC80–U+DCFF)? */
export function isByteName(s: string): boolean {
  if (!BYTE_NAME_HINT.test(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) return true;
  }
  return false;
}

const utf8 = new TextEncoder();

/** The bytes `s` stands for: UTF-8, but a lone U+DC80–U+DCFF is its byte. */
export function nameBytes(s: string): Uint8Array {
  if (!BYTE_NAME_HINT.test(s)) return utf8.encode(s);
  const out: number[] = [];
  let run = 0; // start of the plain text not yet encoded
  const flush = (end: number) => {
    if (end > run) { for (const b of utf8.encode(s.slice(run, end))) out.push(b); }
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      flush(i);
      out.push(c - 0xdc00);
      run = i + 1;
    }
  }
  flush(s.length);
  return new Uint8Array(out);
}

const strict = new TextDecoder("utf-8", { fatal: true });

/** The string for name `bytes`: its text where it is UTF-8, each other byte as U+DC00 + byte. */
export function nameOfBytes(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    // Not UTF-8: decode sequence by sequence below.
  }
  let s = "";
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceLength(bytes, i);
    if (n === 0) {
      s += String.fromCharCode(0xdc00 + bytes[i]);
      i++;
    } else {
      s += strict.decode(bytes.subarray(i, i + n));
      i += n;
    }
  }
  return s;
}

/** The length of the valid UTF-8 sequence at `i`, or 0 when there is none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) =>
    i + k < b.length && b[i + k] >= lo && b[i + k] <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    // No overlong forms (E0 80–9F) and no surrogates (ED A0–BF).
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

const HEX = "0123456789ABCDEF";

/**
 * `s` to print: each byte that is not UTF-8 as `\xHH` (as `ls -b` and
 * restic show them); any other name is returned as it is.
 */
export function showName(s: string): string {
  if (!isByteName(s)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      out += s[i] + s[i + 1];
      i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      const b = c - 0xdc00;
      out += `\\x${HEX[b >> 4]}${HEX[b & 15]}`;
    } else out += s[i];
  }
  return out;
}
