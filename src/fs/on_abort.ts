/**
 * Running something when a signal aborts, also when it already has.
 *
 * `signal.addEventListener("abort", fn)` never calls `fn` for a signal that
 * was aborted before: a SIGTERM that arrives while `cairn agent` is still
 * starting was lost that way, and the daemon then ran on forever.
 *
 * @module
 */

/**
 * Calls `fn` once when `signal` aborts, or at once when it already has.
 * Returns a function that unsubscribes (a no-op after `fn` ran).
 */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    fn();
    return () => {};
  }
  signal.addEventListener("abort", fn, { once: true });
  return () => signal.removeEventListener("abort", fn);
}
