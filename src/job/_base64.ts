/**
 * Strict base64 decoding (standard or URL alphabet, padding optional).
 *
 * @module
 */

/** Decodes base64, throwing on anything that is not base64 instead of skipping it. */
export function decodeBase64(text: string): Uint8Array {
  const s = text.replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.replace(/=+$/, "").length % 4 === 1) {
    throw new Error("invalid base64");
  }
  const bin = atob(
    s.replace(/=+$/, "").padEnd(Math.ceil(s.replace(/=+$/, "").length / 4) * 4, "="),
  );
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
