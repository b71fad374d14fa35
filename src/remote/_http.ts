// HTTP helpers shared by the job fetcher and the report queue.

import { concatBytes } from "../fs/mod.ts";

/** A response body was larger than the caller allows. */
export class TooLargeError extends Error {
  constructor(what: string, limit: number) {
    super(`${what} exceeds ${limit} bytes`);
    this.name = "TooLargeError";
  }
}

/**
 * Reads a whole body but stops, and cancels the stream, past `limit` bytes.
 *
 * Content-Length is checked first as a shortcut but never trusted: the bytes
 * actually read are counted, so a lying or missing header changes nothing.
 */
export async function readBounded(
  res: { headers: Headers; body: ReadableStream<Uint8Array> | null },
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new TooLargeError(what, limit);
  }
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) throw new TooLargeError(what, limit);
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
  return concatBytes(chunks);
}

/**
 * Throws unless `url` is HTTPS, or plain HTTP to a loopback address.
 *
 * Plain HTTP is allowed on loopback only, for tests and for a local proxy that
 * terminates TLS: anywhere else a bearer token would cross the network in clear.
 */
export function assertSecureUrl(url: URL, what: string): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && isLoopback(url.hostname)) return;
  throw new TypeError(`Invalid ${what} "${url.href}": must be https (or http on loopback)`);
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Reads a bearer token file, trimmed; re-read on every use so rotation needs no restart. */
export async function readToken(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) return undefined;
  const token = (await Deno.readTextFile(path)).trim();
  // Printable ASCII without spaces: anything else could not go into a header anyway.
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new TypeError(`Invalid token file "${path}": expected one non-empty line`);
  }
  return token;
}

/** An HTTP client trusting the CA certificates in `caFile`, or undefined for the default. */
export async function createClient(
  caFile: string | undefined,
): Promise<Deno.HttpClient | undefined> {
  if (caFile === undefined) return undefined;
  const pem = await Deno.readTextFile(caFile);
  return Deno.createHttpClient({ caCerts: [pem] });
}

/** `signal` combined with a timeout; whichever fires first aborts. */
export function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const timeout = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** A one-line description of a fetch failure, without stack or newlines. */
export function describeError(err: unknown): string {
  if (err instanceof DOMException && err.name === "TimeoutError") return "timed out";
  let msg = err instanceof Error ? err.message : String(err);
  // fetch() hides the useful part ("invalid peer certificate", "connection
  // refused") in the cause.
  const cause = err instanceof Error ? err.cause : undefined;
  if (cause instanceof Error && cause.message) msg += `: ${cause.message}`;
  return msg.replace(/\s*\n\s*/g, " ");
}
