/**
 * The error of a failed libc call, public so callers can branch on it while
 * the calls themselves stay private to this folder.
 *
 * @module
 */

/** An errno from a libc call, with the call and path in its message. */
export class OsError extends Error {
  /** `reason` is strerror's text alone, for messages that name the file themselves. */
  constructor(readonly errno: number, message: string, readonly reason: string) {
    super(message);
    this.name = "OsError";
  }
}
