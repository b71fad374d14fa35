/**
 * Waiting that an AbortSignal can cut short: retries' backoff and the agent's
 * clock both wait this way.
 *
 * @module
 */

// setTimeout cannot wait longer than 2^31-1 ms (about 24.8 days); it would fire at once.
const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * Resolves after `ms` (clamped to 0 … 2^31-1, what `setTimeout` can wait);
 * rejects with the signal's reason if it is aborted first, or already was.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, Math.min(ms, MAX_TIMEOUT)));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
