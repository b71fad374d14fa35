/**
 * Giving a byte array's memory back now rather than at the next collection.
 *
 * @module
 */

/**
 * Node's `Buffer` pool: small Buffers are views of one shared buffer of this
 * size, which must never be detached.
 */
const NODE_POOL = 8 * 1024;

/**
 * Frees the memory behind `bytes` at once by detaching its buffer: every view
 * of that buffer becomes empty. Only for bytes the caller owns whole, such as
 * a WebCrypto output or a copy it made. V8 frees a dead ArrayBuffer only when
 * it collects the object holding it, and lets tens of MiB of them wait in a
 * worker whose JS heap stays small. Not for node:zlib's outputs: their memory
 * is native and outlives the detach until a collection, which detaching
 * delays (measured: 149 MiB of external bytes against 77 without it; see
 * `nativeGarbage` in src/platform for those). Does nothing to a
 * buffer that cannot be detached (WASM memory, shared or resizable), one that
 * is already, or one of Node's pool's size or smaller. Returns whether it
 * freed anything.
 */
export function freeBytes(bytes: Uint8Array): boolean {
  const b = bytes.buffer;
  if (!(b instanceof ArrayBuffer) || b.resizable || b.detached || b.byteLength <= NODE_POOL) {
    return false;
  }
  try {
    b.transfer(0);
    return true;
  } catch {
    return false; // not detachable (WASM memory)
  }
}
