/**
 * The errors an S3 backend throws, which callers (the retry layer, tests)
 * branch on: public, while the HTTP code that throws them is private.
 *
 * @module
 */

/** Error codes S3 uses for answers that a later attempt may not get. */
const TRANSIENT_CODES = new Set([
  "SlowDown",
  "InternalError",
  "ServiceUnavailable",
  "RequestTimeout",
  "OperationAborted",
  "ConditionalRequestConflict",
]);

/** An S3 error answer. `transient` tells the retry layer whether to try again. */
export class S3Error extends Error {
  readonly transient: boolean;
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "S3Error";
    this.transient = status >= 500 || status === 429 || TRANSIENT_CODES.has(code);
  }
}

/** The connection failed, timed out or ended early: worth another attempt. */
export class S3TransportError extends Error {
  readonly transient = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "S3TransportError";
  }
}
