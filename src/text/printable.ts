/**
 * Makes a name safe to print: control characters become visible escapes,
 * and each byte of a name that is not UTF-8 (held as a lone U+DC80–U+DCFF,
 * see the platform module's byte names) is shown `\xHH`, as `ls -b` and
 * restic show it.
 */
export function printable(name: string): string {
  return name.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]|(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g,
    (c) => {
      const u = c.charCodeAt(0);
      if (u >= 0xdc80) return `\\x${(u - 0xdc00).toString(16).toUpperCase()}`;
      return c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\u{${c.codePointAt(0)!.toString(16)}}`;
    },
  );
}
