/**
 * Runs synchronous work behind a Promise-returning API.
 *
 * Backends that do their I/O synchronously (faster in workers, and trivial for
 * the in-memory store) still have to honour the async {@link Backend} shape,
 * where a failure must surface as a rejection, never as a throw at call time.
 *
 * @module
 */

/** Calls `fn` now and returns its result as a resolved or rejected Promise. */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}
