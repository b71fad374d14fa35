/**
 * Delivers run reports to the document's `report_url`, queueing on disk what
 * cannot be delivered now.
 *
 * The queue is a directory of one JSON file per report, named so that sorting
 * the names gives the order they were queued in. It is bounded by count (the
 * oldest are dropped first) and by age, each drop logged: reports are
 * monitoring, never worth filling the disk of a host whose endpoint is gone.
 * Reports go out in order; after a failure the queue waits (exponential
 * backoff) before the next attempt, so a down endpoint is not hammered.
 */

import { join } from "node:path";
import { readFileIfExists, writeFileAtomic } from "../fs/mod.ts";
import { assertSecureUrl, createClient, describeError, readToken, withTimeout } from "./_http.ts";
import type { RunReport } from "./report.ts";

/** Settings for {@link ReportQueue.open}. */
export interface ReportQueueOptions {
  /** Queue directory (created if missing). */
  dir: string;
  /**
   * Bearer token, sent only to `origin` (the jobs URL's origin): a report URL
   * elsewhere, even one named in a signed document, never receives it.
   */
  token?: { file: string; origin: string };
  /** PEM file of CA certificates to trust. */
  caFile?: string;
  /** Most reports kept; default 1000. */
  maxQueued?: number;
  /** Oldest report kept, in ms; default 7 days. */
  maxAgeMs?: number;
  /** Per POST; default 30 s. */
  timeoutMs?: number;
  /** Backoff after a failed delivery grows from this (default 30 s)… */
  minBackoffMs?: number;
  /** …up to this (default 1 h). */
  maxBackoffMs?: number;
  now?: () => Date;
  log?: (line: string) => void;
}

/** What one {@link ReportQueue.flush} did. */
export interface FlushResult {
  sent: number;
  dropped: number;
  remaining: number;
  /** True when the flush did not try because the backoff had not elapsed. */
  deferred: boolean;
}

interface Queued {
  url: string;
  queuedAt: string;
  report: RunReport;
}

/** Permanent refusals: retrying the same body can never succeed. */
const PERMANENT = new Set([400, 413, 422]);

/** An on-disk queue of run reports with in-order, backed-off delivery. */
export class ReportQueue implements Disposable {
  #backoff = 0;
  #nextAttempt = 0;
  #seq = 0;
  /** What the last flush did with each report, for {@link send}'s answer. */
  #outcomes = new Map<string, "sent" | "dropped">();
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly opts: ReportQueueOptions,
    private readonly client: Deno.HttpClient | undefined,
  ) {}

  /** Opens (creating) the queue directory. */
  static async open(options: ReportQueueOptions): Promise<ReportQueue> {
    await Deno.mkdir(options.dir, { recursive: true, mode: 0o700 });
    return new ReportQueue(options, await createClient(options.caFile));
  }

  /**
   * Queues `report` for `url` and flushes the queue (unless backing off), so
   * reports arrive in order. Returns what became of this report.
   */
  async send(
    url: string,
    report: RunReport,
    options: { signal?: AbortSignal } = {},
  ): Promise<"sent" | "queued" | "dropped"> {
    try {
      assertSecureUrl(new URL(url), "report_url");
    } catch (err) {
      this.#log(`dropping report for job "${report.job}": ${describeError(err)}`);
      return "dropped";
    }
    const name = await this.#enqueue({ url, report, queuedAt: this.#now().toISOString() });
    await this.flush(options);
    const outcome = this.#outcomes.get(name);
    this.#outcomes.clear();
    return outcome ?? ((await readFileIfExists(join(this.opts.dir, name))) ? "queued" : "dropped");
  }

  /** Delivers queued reports in order until one fails; waits out the backoff unless `force`. */
  flush(options: { signal?: AbortSignal; force?: boolean } = {}): Promise<FlushResult> {
    const run = this.#busy.then(() => this.#flush(options));
    this.#busy = run.catch(() => {});
    return run;
  }

  /** Number of reports waiting. */
  async pending(): Promise<number> {
    return (await this.#names()).length;
  }

  /** Releases the HTTP client. */
  close(): void {
    this.client?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #flush(options: { signal?: AbortSignal; force?: boolean }): Promise<FlushResult> {
    const result: FlushResult = { sent: 0, dropped: 0, remaining: 0, deferred: false };
    const names = await this.#names();
    const now = this.#now().getTime();
    if (!options.force && now < this.#nextAttempt) {
      return { ...result, remaining: names.length, deferred: true };
    }
    const maxAge = this.opts.maxAgeMs ?? 7 * 86400_000;
    for (const [i, name] of names.entries()) {
      options.signal?.throwIfAborted();
      const path = join(this.opts.dir, name);
      let item: Queued;
      try {
        item = JSON.parse(await Deno.readTextFile(path));
      } catch (err) {
        this.#log(`dropping unreadable queued report ${name}: ${describeError(err)}`);
        await this.#remove(path);
        result.dropped++;
        continue;
      }
      if (now - Date.parse(item.queuedAt) > maxAge) {
        this.#log(`dropping report for job "${item.report.job}" queued ${item.queuedAt}: too old`);
        await this.#remove(path);
        result.dropped++;
        continue;
      }
      const outcome = await this.#post(item, options.signal);
      if (outcome === "retry") {
        this.#backoff = Math.min(
          this.opts.maxBackoffMs ?? 3600_000,
          Math.max(this.opts.minBackoffMs ?? 30_000, this.#backoff * 2),
        );
        this.#nextAttempt = now + this.#backoff;
        result.remaining = names.length - i;
        return result;
      }
      await this.#remove(path);
      this.#outcomes.set(name, outcome);
      if (outcome === "sent") result.sent++;
      else result.dropped++;
    }
    this.#backoff = 0;
    this.#nextAttempt = 0;
    return result;
  }

  async #post(item: Queued, signal?: AbortSignal): Promise<"sent" | "dropped" | "retry"> {
    const what = `report for job "${item.report.job}" to ${item.url}`;
    try {
      const headers = new Headers({ "content-type": "application/json" });
      const token = this.opts.token;
      if (token && new URL(item.url).origin === token.origin) {
        headers.set("authorization", `Bearer ${await readToken(token.file)}`);
      }
      const res = await fetch(item.url, {
        method: "POST",
        headers,
        body: JSON.stringify(item.report),
        signal: withTimeout(signal, this.opts.timeoutMs ?? 30_000),
        redirect: "error",
        client: this.client,
      });
      await res.body?.cancel();
      if (res.ok) return "sent";
      if (PERMANENT.has(res.status)) {
        this.#log(`dropping ${what}: refused with HTTP ${res.status}`);
        return "dropped";
      }
      this.#log(`cannot deliver ${what}: HTTP ${res.status}; will retry`);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      this.#log(`cannot deliver ${what}: ${describeError(err)}; will retry`);
    }
    return "retry";
  }

  async #enqueue(item: Queued): Promise<string> {
    const max = this.opts.maxQueued ?? 1000;
    const names = await this.#names();
    // Drop the oldest to make room: recent results matter more than old ones.
    for (const name of names.slice(0, Math.max(0, names.length - max + 1))) {
      this.#log(`queue full (${max}): dropping oldest report ${name}`);
      await this.#remove(join(this.opts.dir, name));
    }
    const stamp = String(this.#now().getTime()).padStart(15, "0");
    const seq = String(this.#seq++ % 1e6).padStart(6, "0");
    const name = `${stamp}-${seq}-${crypto.randomUUID().slice(0, 8)}.json`;
    await writeFileAtomic(
      join(this.opts.dir, name),
      new TextEncoder().encode(JSON.stringify(item)),
    );
    return name;
  }

  async #names(): Promise<string[]> {
    const names: string[] = [];
    for await (const e of Deno.readDir(this.opts.dir)) {
      if (e.isFile && /^\d{15}-\d{6}-[0-9a-f]{8}\.json$/.test(e.name)) names.push(e.name);
    }
    return names.sort();
  }

  async #remove(path: string): Promise<void> {
    await Deno.remove(path).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }

  #now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  #log(line: string): void {
    (this.opts.log ?? console.error)(`reports: ${line}`);
  }
}
