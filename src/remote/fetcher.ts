/**
 * Polls a remote endpoint for this host's signed job document.
 *
 * A document is accepted only when, in this order: it and its `.sig` were
 * fetched within the size and time bounds; the signature verifies against the
 * configured key; it parses as a remote job document; its `version` is above
 * every version accepted before; `expires` is in the future; and every job
 * stays inside the local allow rules. Anything else is rejected with a
 * one-line reason and the last good document stays in force. The last good
 * document is cached on disk (and re-verified when loaded), so a restart or
 * an endpoint that is down changes nothing.
 *
 * A cached document that has expired is still run, with a loud log line on
 * every poll: expiry stops a stale document from being *accepted*, but an
 * agent that stopped backing up because its control plane was down would turn
 * an outage into data loss.
 */

import { checkAllowed, checkResolvedPaths } from "./allow.ts";
import {
  assertSecureUrl,
  createClient,
  describeError,
  readBounded,
  readToken,
  TooLargeError,
  withTimeout,
} from "./_http.ts";
import { importPublicKey, parsePublicKey, parseSignature, verifyDocument } from "./keys.ts";
import { type CachedDocument, loadState, saveState } from "./_state.ts";
import type { GoodDocument, PollResult, RemoteDocument, RemoteJobSourceOptions } from "./types.ts";

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_DOCUMENT = 1 << 20;
const DEFAULT_MAX_SIGNATURE = 4 << 10;

/** A document whose signature verified and whose version and expiry are present. */
interface Authenticated<T> {
  config: T;
  version: number;
  expires: Date;
}

/** Rejection inside a poll, turned into a `rejected` result. */
class Rejected extends Error {}

/** A remote job document source: the last good document plus {@link poll}. */
export class RemoteJobSource<T extends RemoteDocument> implements Disposable {
  #good?: { cache: CachedDocument; doc: Authenticated<T> };
  /** Highest version ever accepted (survives a cache whose jobs are now disallowed). */
  #floor = 0;
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly url: string,
    private readonly opts: RemoteJobSourceOptions<T>,
    private readonly key: CryptoKey,
    private readonly client: Deno.HttpClient | undefined,
  ) {}

  /** Validates the settings and loads (and re-verifies) the cached document. */
  static async open<T extends RemoteDocument>(
    options: RemoteJobSourceOptions<T>,
  ): Promise<RemoteJobSource<T>> {
    // `%7Bhost%7D` too: a URL that went through `new URL()` (as the job
    // parser's does) has its braces percent-encoded.
    const host = encodeURIComponent(options.host);
    const url = options.url.replaceAll("{host}", host).replace(/%7Bhost%7D/gi, host);
    assertSecureUrl(new URL(url), "remote.url");
    const pk = options.publicKey;
    const key = typeof pk === "string"
      ? await parsePublicKey(pk)
      : pk instanceof Uint8Array
      ? await importPublicKey(pk)
      : pk;
    const source = new RemoteJobSource(url, options, key, await createClient(options.caFile));
    await source.#loadCache();
    return source;
  }

  /** The document in force, if any. */
  get current(): GoodDocument<T> | undefined {
    const good = this.#good;
    if (!good) return undefined;
    const { config, version, expires } = good.doc;
    return {
      config,
      version,
      expires,
      expired: expires.getTime() <= this.#now().getTime(),
      fetchedAt: new Date(good.cache.fetchedAt),
    };
  }

  /** Fetches the document once; never throws except when `signal` aborts. */
  poll(options: { signal?: AbortSignal } = {}): Promise<PollResult<T>> {
    // Polls run one at a time so two cannot race to replace the cache.
    const run = this.#busy.then(() => this.#poll(options.signal));
    this.#busy = run.catch(() => {});
    return run;
  }

  /** Releases the HTTP client. */
  close(): void {
    this.client?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #poll(signal?: AbortSignal): Promise<PollResult<T>> {
    signal?.throwIfAborted();
    let result: PollResult<T>;
    try {
      result = await this.#fetchAndCheck(signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const reason = describeError(err);
      result = err instanceof Rejected || err instanceof TooLargeError
        ? { status: "rejected", reason, current: this.current }
        : { status: "unreachable", reason, current: this.current };
    }
    if (result.status === "rejected" || result.status === "unreachable") {
      const keep = result.current ? `keeping version ${result.current.version}` : "no jobs yet";
      this.#log(`${result.status}: ${result.reason}; ${keep}`);
    }
    const cur = result.current;
    if (cur?.expired) {
      this.#log(
        `WARNING: running expired job document version ${cur.version} (expired ${cur.expires.toISOString()})`,
      );
    }
    return result;
  }

  async #fetchAndCheck(signal?: AbortSignal): Promise<PollResult<T>> {
    const o = this.opts;
    const headers = new Headers({ accept: "application/toml, text/plain" });
    const token = await readToken(o.tokenFile);
    if (token) headers.set("authorization", `Bearer ${token}`);
    const good = this.#good;
    if (good?.cache.etag && good.cache.url === this.url) {
      headers.set("if-none-match", good.cache.etag);
    }

    const timeout = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const res = await this.#get(this.url, headers, withTimeout(signal, timeout));
    if (res.status === 304) {
      await res.body?.cancel();
      if (!good) throw new Error(`HTTP 304 from ${this.url} but nothing is cached`);
      return { status: "unchanged", current: this.current! };
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status} from ${this.url}`);
    }
    const etag = res.headers.get("etag") ?? undefined;
    const body = await readBounded(res, o.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT, "document");

    if (good && equalBytes(body, good.cache.document)) {
      // Same bytes (a server that ignores If-None-Match): nothing to verify again.
      if (etag !== good.cache.etag) {
        good.cache = { ...good.cache, etag, url: this.url };
        await saveState(o.stateDir, good.cache);
      }
      return { status: "unchanged", current: this.current! };
    }

    headers.delete("if-none-match");
    const sigUrl = `${this.url}.sig`;
    const sigRes = await this.#get(sigUrl, headers, withTimeout(signal, timeout));
    if (sigRes.status === 404 || sigRes.status === 410) {
      await sigRes.body?.cancel();
      throw new Rejected(`unsigned document: no signature at ${sigUrl}`);
    }
    if (sigRes.status !== 200) {
      await sigRes.body?.cancel();
      throw new Error(`HTTP ${sigRes.status} from ${sigUrl}`);
    }
    const sig = await readBounded(
      sigRes,
      o.maxSignatureBytes ?? DEFAULT_MAX_SIGNATURE,
      "signature",
    );

    const doc = await this.#authenticate(body, sig);
    const { version, expires } = doc;
    const now = this.#now();
    if (version < this.#floor) {
      throw new Rejected(`version ${version} is older than accepted version ${this.#floor}`);
    }
    if (version === this.#floor) {
      throw new Rejected(`version ${version} was already accepted with different content`);
    }
    if (expires.getTime() <= now.getTime()) {
      throw new Rejected(`document version ${version} expired ${expires.toISOString()}`);
    }
    await this.#checkAllowed(doc.config);

    const cache: CachedDocument = {
      url: this.url,
      etag,
      version,
      fetchedAt: now.toISOString(),
      document: body,
      signature: sig,
    };
    await saveState(o.stateDir, cache);
    this.#good = { cache, doc };
    this.#floor = version;
    return { status: "updated", current: this.current! };
  }

  /** Signature, parse and field checks shared by fresh fetches and the cache. */
  async #authenticate(body: Uint8Array, sig: Uint8Array): Promise<Authenticated<T>> {
    try {
      parseSignature(sig);
    } catch (err) {
      throw new Rejected(`malformed signature: ${(err as Error).message}`);
    }
    if (!await verifyDocument(body, sig, this.key)) {
      throw new Rejected("bad signature: wrong key or tampered document");
    }
    // Only authenticated bytes reach the parser.
    let config: T;
    try {
      const text = new TextDecoder("utf-8", { fatal: true }).decode(body);
      config = this.opts.parse(text, this.url);
    } catch (err) {
      throw new Rejected(`invalid document: ${describeError(err)}`);
    }
    const { version, expires } = config;
    if (version === undefined || !Number.isSafeInteger(version) || version < 1) {
      throw new Rejected(`invalid document: version must be a positive integer`);
    }
    if (!(expires instanceof Date) || Number.isNaN(expires.getTime())) {
      throw new Rejected(`invalid document: expires must be a timestamp`);
    }
    if (config.reportUrl !== undefined) {
      try {
        assertSecureUrl(new URL(config.reportUrl), "report_url");
      } catch (err) {
        throw new Rejected(`invalid document: ${describeError(err)}`);
      }
    }
    return { config, version, expires };
  }

  async #checkAllowed(config: T): Promise<void> {
    const o = this.opts;
    let why = checkAllowed(config, o.allow, o.localRepositories, o.host);
    for (const job of config.jobs) why ??= await checkResolvedPaths(job, o.allow.paths);
    if (why) throw new Rejected(`not allowed: ${why}`);
  }

  async #loadCache(): Promise<void> {
    let cache: CachedDocument | undefined;
    try {
      cache = await loadState(this.opts.stateDir);
    } catch (err) {
      this.#log(`ignoring cache: ${describeError(err)}`);
      return;
    }
    if (!cache) return;
    let doc: Authenticated<T>;
    try {
      doc = await this.#authenticate(cache.document, cache.signature);
    } catch (err) {
      // E.g. public_key was changed: the cache proves nothing any more.
      this.#log(`ignoring cache: ${describeError(err)}`);
      return;
    }
    // The signed version is a floor even if the jobs are now disallowed
    // (allow rules tightened locally): an older document must not come back.
    this.#floor = doc.version;
    try {
      await this.#checkAllowed(doc.config);
    } catch (err) {
      this.#log(`ignoring cached version ${doc.version}: ${describeError(err)}`);
      return;
    }
    this.#good = { cache: { ...cache, version: doc.version }, doc };
  }

  #get(url: string, headers: Headers, signal: AbortSignal): Promise<Response> {
    return fetch(url, { headers, signal, redirect: "error", client: this.client });
  }

  #now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  #log(line: string): void {
    (this.opts.log ?? console.error)(`remote jobs ${this.url}: ${line}`);
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
