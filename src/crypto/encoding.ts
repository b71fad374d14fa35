/**
 * Hex and base64 conversions backed by V8's native `Uint8Array` methods
 * (`toHex`, `fromHex`, `toBase64`, `fromBase64`), which are much faster than
 * byte loops in JS and are not yet in every TypeScript lib.
 */

interface NativeCodec {
  toHex(): string;
  toBase64(): string;
}
interface NativeCodecStatics {
  fromHex(s: string): Uint8Array;
  fromBase64(s: string): Uint8Array;
}

const statics = Uint8Array as unknown as NativeCodecStatics;

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return (bytes as unknown as NativeCodec).toHex();
}

/** Bytes of a hex string; throws SyntaxError on anything but hex digit pairs. */
export function fromHex(hex: string): Uint8Array {
  return statics.fromHex(hex);
}

/** Standard base64 (with padding) of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  return (bytes as unknown as NativeCodec).toBase64();
}

/** Bytes of a standard base64 string; throws SyntaxError when malformed. */
export function fromBase64(b64: string): Uint8Array {
  return statics.fromBase64(b64);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** UTF-8 bytes of a string. */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** A string from UTF-8 bytes; throws TypeError when they are not valid UTF-8. */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
