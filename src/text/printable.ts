/** Makes a name safe to print: control characters become visible escapes. */
export function printable(name: string): string {
  return name.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (c) => c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\u{${c.codePointAt(0)!.toString(16)}}`,
  );
}
