/**
 * One signed S3 request with time limits, a body reader that checks the
 * length it was promised, and S3 error answers turned into one-line errors
 * that say whether retrying can help (see `isTransientError` in retry.ts).
 *
 * @module
 */

import { AwsClient } from "aws4fetch";
import { XMLParser } from "fast-xml-parser";
import { concatBytes } from "../fs/mod.ts";
import type { S3Credentials } from "./_s3_credentials.ts";
import { S3Error, S3TransportError } from "./s3_errors.ts";

/** Hash of an empty payload, for requests without a body. */
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** How long to wait, in ms. */
export interface S3Timeouts {
  /** From sending a request until the answer's headers arrive. */
  headersMs: number;
  /** The longest pause while a body streams in. */
  bodyIdleMs: number;
}

export interface S3RequestInit {
  method: "GET" | "PUT" | "HEAD" | "DELETE";
  url: URL;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** The body's SHA-256 in hex, when the caller knows it; else it is computed. */
  bodySha256?: string;
  signal?: AbortSignal;
}

/** A sent request's answer, with a way to read its body under the time limit. */
export interface S3Answer {
  response: Response;
  /** Reads the whole body, checking it against Content-Length. */
  bytes(): Promise<Uint8Array>;
  /** Reads the body as text (error documents, listings). */
  text(): Promise<string>;
  /** Releases the connection without reading the body. */
  discard(): Promise<void>;
}

/** Signs and sends requests for one set of credentials. */
export class S3Http {
  readonly #aws: AwsClient;
  readonly #client: Deno.HttpClient | undefined;

  constructor(
    credentials: S3Credentials,
    region: string,
    readonly timeouts: S3Timeouts,
    caCerts: string[] | undefined,
    readonly fetchFn: typeof fetch = fetch,
  ) {
    this.#aws = new AwsClient({
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      sessionToken: credentials.sessionToken,
      service: "s3",
      region,
      retries: 0,
    });
    this.#client = caCerts ? Deno.createHttpClient({ caCerts }) : undefined;
  }

  /** Sends one request; rejects on transport failure, never on an HTTP status. */
  async send(init: S3RequestInit): Promise<S3Answer> {
    init.signal?.throwIfAborted();
    const headers: Record<string, string> = { ...init.headers };
    headers["x-amz-content-sha256"] = !init.body
      ? EMPTY_SHA256
      : init.bodySha256 !== undefined && /^[0-9a-f]{64}$/.test(init.bodySha256)
      ? init.bodySha256
      : await sha256Hex(init.body);
    const signed = await this.#aws.sign(init.url.toString(), { method: init.method, headers });
    const timer = new Deadline(init.signal);
    timer.arm(this.timeouts.headersMs, `no answer within ${this.timeouts.headersMs} ms`);
    let response: Response;
    try {
      response = await this.fetchFn(init.url, {
        method: init.method,
        headers: signed.headers,
        body: init.body,
        signal: timer.signal,
        client: this.#client,
      } as RequestInit);
    } catch (err) {
      timer.clear();
      throw timer.explain(err, `${init.method} ${init.url.pathname}`);
    }
    timer.clear();
    const what = `${init.method} ${init.url.pathname}`;
    const readAll = async (): Promise<Uint8Array> => {
      const declared = response.headers.get("content-length");
      const expected = declared === null ? undefined : Number(declared);
      try {
        return await readBody(response, timer, this.timeouts.bodyIdleMs, expected, what);
      } finally {
        timer.clear();
      }
    };
    return {
      response,
      bytes: readAll,
      text: async () => new TextDecoder().decode(await readAll()),
      discard: async () => {
        await response.body?.cancel().catch(() => {});
      },
    };
  }

  /** Frees the connection pool. */
  close(): void {
    this.#client?.close();
  }
}

/** An abort controller that fires on the caller's signal or on a time limit. */
class Deadline {
  readonly #controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut: string | undefined;
  readonly signal: AbortSignal;

  constructor(readonly outer: AbortSignal | undefined) {
    this.signal = outer
      ? AbortSignal.any([outer, this.#controller.signal])
      : this.#controller.signal;
  }

  arm(ms: number, why: string): void {
    this.clear();
    this.#timer = setTimeout(() => {
      this.#timedOut = why;
      this.#controller.abort(new S3TransportError(why));
    }, ms);
  }

  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The error to throw for a failure: the caller's abort reason, a timeout, or a transport error. */
  explain(err: unknown, what: string): unknown {
    if (this.outer?.aborted) return this.outer.reason;
    if (this.#timedOut !== undefined) {
      return new S3TransportError(`S3 ${what}: ${this.#timedOut}`, { cause: err });
    }
    if (err instanceof S3Error || err instanceof S3TransportError) return err;
    return new S3TransportError(`S3 ${what} failed: ${oneLine(causeChain(err))}`, { cause: err });
  }
}

async function readBody(
  response: Response,
  timer: Deadline,
  idleMs: number,
  expected: number | undefined,
  what: string,
): Promise<Uint8Array> {
  if (!response.body) {
    if (expected) throw new S3TransportError(`S3 ${what}: body missing, ${expected} bytes due`);
    return new Uint8Array(0);
  }
  const chunks: Uint8Array[] = [];
  // With the length declared, chunks are copied into one buffer as they come
  // (a 4 MiB window arrives in a hundred or more), rather than kept and joined.
  const into = expected !== undefined && expected > 0 ? new Uint8Array(expected) : undefined;
  let total = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      timer.arm(idleMs, `body stalled for ${idleMs} ms`);
      const { done, value } = await reader.read();
      if (done) break;
      if (expected !== undefined && total + value.length > expected) {
        throw new S3TransportError(`S3 ${what}: body longer than its ${expected} bytes`);
      }
      if (into) into.set(value, total);
      else chunks.push(value);
      total += value.length;
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw timer.explain(err, what);
  }
  if (expected !== undefined && total !== expected) {
    throw new S3TransportError(
      `S3 ${what}: body cut short, ${total} of ${expected} bytes arrived`,
    );
  }
  if (into) return into;
  if (chunks.length === 1) return chunks[0];
  return concatBytes(chunks);
}

const parser = new XMLParser({
  // Keep every value a string: keys and tokens can look like numbers.
  parseTagValue: false,
  ignoreAttributes: true,
  isArray: (name) => name === "Contents",
});

/** Parses an S3 XML document. */
export function parseXml(text: string): Record<string, unknown> {
  return parser.parse(text) as Record<string, unknown>;
}

/** Code and message of an S3 error document (empty strings when it has none). */
export function errorDocument(text: string): { code: string; message: string } {
  try {
    const doc = parseXml(text).Error as Record<string, unknown> | undefined;
    return { code: String(doc?.Code ?? ""), message: oneLine(String(doc?.Message ?? "")) };
  } catch {
    return { code: "", message: "" };
  }
}

/** "fetch failed: invalid peer certificate: UnknownIssuer": the message and its causes. */
function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; depth++) {
    const message = e instanceof Error ? e.message : String(e);
    if (message && !parts.some((p) => p.includes(message))) parts.push(message);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
