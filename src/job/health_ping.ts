/**
 * Health-check pings: a job tells an external monitor (healthchecks.io and
 * compatible ones) that it started, succeeded or failed, so a host that
 * stops running backups at all is noticed by someone else.
 *
 * Guarantees: a ping never fails or delays a run beyond its time limit
 * (each attempt {@link PING_TIMEOUT_MS}, {@link PING_ATTEMPTS} attempts), it
 * never throws, and what it logs names only the URL's origin: the path of a
 * ping URL is its secret (anyone who knows it can ping), and user info or a
 * query string may hold credentials.
 *
 * @module
 */
import type { RunOutcome } from "./agent.ts";

/** The URLs a job pings; each is optional. */
export interface HealthPings {
  start?: string;
  success?: string;
  failure?: string;
}

/** One request's time limit. */
export const PING_TIMEOUT_MS = 10_000;
/** Attempts per ping, with 1 s and 2 s between them. */
export const PING_ATTEMPTS = 3;
/** The most of the log tail sent as a body (healthchecks.io keeps 100 kB). */
export const PING_BODY_MAX = 10_000;

/**
 * The healthchecks.io convention from one base URL: `URL/start`, `URL` and
 * `URL/fail`; the separate keys override each. A trailing `/` of the base
 * is dropped.
 */
export function healthPings(
  base: string | undefined,
  explicit: HealthPings = {},
): HealthPings {
  const b = base?.replace(/\/+$/, "");
  const out: HealthPings = {
    start: explicit.start ?? (b && `${b}/start`),
    success: explicit.success ?? b,
    failure: explicit.failure ?? (b && `${b}/fail`),
  };
  for (const k of ["start", "success", "failure"] as const) if (out[k] === undefined) delete out[k];
  return out;
}

/** Which URL a finished run pings: success only for `success`; partial, failed and skipped fail. */
export function pingFor(pings: HealthPings, outcome: RunOutcome): string | undefined {
  return outcome === "success" ? pings.success : pings.failure;
}

/** A URL as it may be logged: its origin only (`https://hc-ping.com/…`). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return "(a malformed URL)";
  }
}

/** `message` with every spelling of `url` in it replaced by its redacted form. */
function scrub(message: string, url: string): string {
  let out = message.split("\n")[0];
  const forms = [url];
  try {
    forms.push(new URL(url).href);
  } catch {
    // a malformed URL appears only as given
  }
  for (const f of forms) out = out.split(f).join(redactUrl(url));
  return out;
}

/** The body sent: the last lines of the run's log, at most {@link PING_BODY_MAX} bytes. */
export function pingBody(lines: readonly string[]): string {
  const enc = new TextEncoder();
  const kept: string[] = [];
  let size = 0;
  for (let i = lines.length - 1; i >= 0; i--) {
    const n = enc.encode(lines[i]).length + 1;
    if (size + n > PING_BODY_MAX) break;
    kept.unshift(lines[i]);
    size += n;
  }
  return kept.join("\n");
}

/** How {@link sendPing} runs; the defaults are the documented limits. */
export interface PingOptions {
  body?: string;
  timeoutMs?: number;
  attempts?: number;
  /** Between attempts; default 1 s, then 2 s. */
  backoffMs?: number;
  /** Where a ping that gave up is told (one line, URL redacted). */
  onWarning?: (message: string) => void;
  fetch?: typeof fetch;
}

/**
 * POSTs `body` to `url` (a GET when there is none), retrying a network error
 * or a 5xx answer; true once a 2xx came back. Never throws.
 */
export async function sendPing(url: string, opts: PingOptions = {}): Promise<boolean> {
  const attempts = opts.attempts ?? PING_ATTEMPTS;
  const backoff = opts.backoffMs ?? 1000;
  const doFetch = opts.fetch ?? fetch;
  let last = "";
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, backoff * 2 ** (i - 1)));
    try {
      const res = await doFetch(url, {
        method: opts.body === undefined ? "GET" : "POST",
        body: opts.body,
        headers: opts.body === undefined
          ? undefined
          : { "content-type": "text/plain; charset=utf-8" },
        redirect: "manual",
        signal: AbortSignal.timeout(opts.timeoutMs ?? PING_TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (res.ok) return true;
      last = `HTTP ${res.status}`;
      if (res.status < 500) break; // a 4xx will not change on a retry
    } catch (err) {
      last = err instanceof DOMException && err.name === "TimeoutError"
        ? "timed out"
        : scrub((err as Error).message, url); // the message can quote the URL
    }
  }
  opts.onWarning?.(`health ping to ${redactUrl(url)} failed: ${last}`);
  return false;
}
