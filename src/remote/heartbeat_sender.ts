/**
 * Sends an agent's {@link Heartbeat} to `POST …/heartbeat`, beside the
 * document URL `…/jobs.toml` (see `docs/SERVE.md`). A heartbeat is a
 * snapshot of facts, never queued: a lost one is replaced by the next poll's.
 * A failure is logged when it starts and when it ends, not on every poll, so
 * an endpoint without heartbeats (a static file server) costs one line.
 *
 * @module
 */

import { assertSecureUrl, createClient, describeError, readToken, withTimeout } from "./_http.ts";
import type { Heartbeat } from "./heartbeat.ts";

/** Settings for {@link HeartbeatSender.open}. */
export interface HeartbeatSenderOptions {
  /** The document URL, host already filled in (`RemoteJobSource.url`). */
  jobsUrl: string;
  /** Bearer token file, as for the document. */
  tokenFile?: string;
  caFile?: string;
  /** Per POST; default 10 s. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/** The heartbeat URL for a document URL ending in `/jobs.toml`, else undefined. */
export function heartbeatUrl(jobsUrl: string): string | undefined {
  const url = new URL(jobsUrl);
  if (!url.pathname.endsWith("/jobs.toml")) return undefined;
  url.pathname = url.pathname.slice(0, -"jobs.toml".length) + "heartbeat";
  url.search = "";
  return url.href;
}

/** Posts heartbeats to one endpoint. */
export class HeartbeatSender {
  #failing = false;

  private constructor(
    readonly url: string | undefined,
    private readonly opts: HeartbeatSenderOptions,
    private readonly client: Deno.HttpClient | undefined,
  ) {}

  /** Checks the URL (https, or http on loopback) and opens the HTTP client. */
  static async open(opts: HeartbeatSenderOptions): Promise<HeartbeatSender> {
    const url = heartbeatUrl(opts.jobsUrl);
    if (url) assertSecureUrl(new URL(url), "heartbeat URL");
    return new HeartbeatSender(url, opts, url ? await createClient(opts.caFile) : undefined);
  }

  /** Sends one heartbeat; true when the endpoint took it. Never throws but on abort. */
  async send(hb: Heartbeat, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    if (!this.url) return false;
    const log = this.opts.log ?? console.error;
    let why: string;
    try {
      const headers = new Headers({ "content-type": "application/json" });
      const token = await readToken(this.opts.tokenFile);
      if (token) headers.set("authorization", `Bearer ${token}`);
      const res = await fetch(this.url, {
        method: "POST",
        headers,
        body: JSON.stringify(hb),
        signal: withTimeout(options.signal, this.opts.timeoutMs ?? 10_000),
        redirect: "error",
        client: this.client,
      });
      await res.body?.cancel();
      if (res.ok) {
        if (this.#failing) log(`heartbeat: delivered again to ${this.url}`);
        this.#failing = false;
        return true;
      }
      why = `HTTP ${res.status}`;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      why = describeError(err);
    }
    if (!this.#failing) log(`heartbeat: cannot deliver to ${this.url}: ${why} (logged once)`);
    this.#failing = true;
    return false;
  }

  /** Releases the HTTP client. */
  close(): void {
    this.client?.close();
  }
}
