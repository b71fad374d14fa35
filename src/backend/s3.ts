/**
 * A {@link Backend} on an S3 bucket (AWS, Ceph RGW, MinIO, …), so a fleet of
 * hosts can share one repository.
 *
 * Layout under `BUCKET/PREFIX/`, the same as a local repository's, so a
 * repository can be copied between a disk and a bucket with any sync tool:
 * ```
 * config   keys/<name>   snapshots/<name>   index/<name>   locks/<name>
 * data/<xx>/<name>       xx = first two hex characters of the name
 * claims/…               only while a create-only save settles, on servers
 *                        that ignore If-None-Match
 * ```
 *
 * How it meets the contract in backend.ts where S3 differs from a disk:
 * - A PUT is atomic and durable once answered; there is no rename to need.
 * - DELETE of a missing key succeeds on S3, so `remove` HEADs first and
 *   rejects with `NotFoundError` like every backend.
 * - A range past the end is cut short by S3; `load` reads the object's size
 *   from Content-Range and refuses with `RangeError`. A body shorter than
 *   its Content-Length is a transient error, never data.
 * - `save` with `ifAbsent` sends `If-None-Match: *`. Whether the server
 *   honours it is probed once (PUT a probe twice, the second conditionally).
 *   Where it does not, a claim protocol settles the race instead: write a
 *   claim object, list the claims, and go ahead only when yours is the only
 *   live one and the target is still absent; otherwise withdraw, wait a
 *   random while and try again. With S3's strong read-after-write listing,
 *   two claimers cannot both see themselves alone: the later one's listing
 *   includes the earlier claim.
 *
 * - Ranges of a data file read front to back (a restore's segments) are
 *   fetched ahead in windows of up to 4 MiB (_read_ahead.ts), not one GET a
 *   segment.
 *
 * Retrying is not done here: {@link openBackend} wraps this in a
 * `RetryBackend`; errors carry `transient` so it knows what to retry
 * (5xx, 503 SlowDown, timeouts, cut-off bodies; not 403 or 404).
 *
 * @module
 */

import {
  AlreadyExistsError,
  assertValidName,
  type Backend,
  type ByteRange,
  type FileStat,
  type FileType,
  NotFoundError,
  type OpOptions,
  type Retention,
  type SaveOptions,
} from "./backend.ts";
import { createHash } from "node:crypto";
import { assertValidRange, resolveRange } from "./_range.ts";
import { type Fetched, ReadAhead } from "./_read_ahead.ts";
import { abortableSleep } from "../fs/mod.ts";
import { resolveS3 } from "./_s3_credentials.ts";
import {
  errorDocument,
  parseXml,
  type S3Answer,
  S3Http,
  type S3RequestInit,
  type S3Timeouts,
} from "./_s3_http.ts";
import { formatS3Location, parseS3Location, type S3Location } from "./_s3_location.ts";
import { S3Error, S3TransportError } from "./s3_errors.ts";

export type { S3Settings } from "./s3_settings.ts";
export { S3Error, S3TransportError };

/** Tuning and test hooks for {@link S3Backend}. */
export interface S3BackendOptions {
  /** Where AWS_* variables are read; default the process environment. */
  env?: Record<string, string | undefined>;
  /** Time limits; default 120 s for an answer's headers, 60 s of body silence. */
  timeouts?: Partial<S3Timeouts>;
  /** Objects asked for per listing page (S3's maximum and default: 1000). */
  pageSize?: number;
  /** Whether the server honours If-None-Match; default: probe it once. */
  conditionalWrites?: boolean;
  /** Replaces `fetch`, for tests that break answers. */
  fetch?: typeof fetch;
  /**
   * For {@link S3Backend.create}: the repository uses Object Lock, so a new
   * bucket is created with it enabled and an existing one must have it.
   */
  objectLock?: boolean;
}

/** Claims older than this (by the server's clock) belong to dead writers. */
const CLAIM_TTL_MS = 60 * 60_000;
/** Rounds of the claim protocol before giving up (transiently). */
const CLAIM_ROUNDS = 16;
/** Upper bound of the random wait between rounds. */
const CLAIM_MAX_WAIT_MS = 2000;

/** Stores a repository in an S3 bucket under an optional key prefix. */
export class S3Backend implements Backend {
  /** The location that reopens this backend (no secrets in it). */
  readonly location: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly #loc: S3Location;
  readonly #http: S3Http;
  readonly #pageSize: number;
  readonly #pathStyle: boolean;
  readonly #region: string;
  #conditional: Promise<boolean> | undefined;
  /** Ranges of packs read front to back are fetched in larger windows (see _read_ahead.ts). */
  readonly #readAhead = new ReadAhead((name, offset, length) =>
    this.#getRange("data", name, offset, length)
  );

  /** Opens the bucket `location` names; reads credentials but sends nothing. */
  constructor(location: string | S3Location, options: S3BackendOptions = {}) {
    const loc = typeof location === "string" ? parseS3Location(location) : location;
    const env = options.env ?? Deno.env.toObject();
    const https = loc.endpoint.startsWith("https:");
    const resolved = resolveS3(loc.settings, env, https);
    this.#loc = loc;
    this.bucket = loc.bucket;
    this.accessKeyId = resolved.credentials.accessKeyId;
    this.location = formatS3Location(loc);
    this.#pageSize = options.pageSize ?? 1000;
    this.#region = resolved.region;
    this.#pathStyle = loc.settings.pathStyle ?? !/\.amazonaws\.com(\.cn)?$/i.test(
      new URL(loc.endpoint).hostname,
    );
    if (options.conditionalWrites !== undefined) {
      this.#conditional = Promise.resolve(options.conditionalWrites);
    }
    this.#http = new S3Http(
      resolved.credentials,
      resolved.region,
      { headersMs: 120_000, bodyIdleMs: 60_000, ...options.timeouts },
      resolved.caCerts,
      options.fetch,
    );
  }

  /**
   * Prepares a bucket for a new repository: creates the bucket when it is
   * missing (if the credentials allow it) and refuses with
   * `Deno.errors.AlreadyExists` when the location already holds a repository.
   */
  static async create(
    location: string | S3Location,
    options: S3BackendOptions = {},
  ): Promise<S3Backend> {
    const backend = new S3Backend(location, options);
    try {
      await backend.#ensureBucket(options.objectLock === true);
      const taken = await backend.stat("config", "config").then(() => true, (err) => {
        if (err instanceof NotFoundError) return false;
        throw err;
      });
      if (taken) {
        throw new Deno.errors.AlreadyExists(
          `Cannot create a repository in ${backend.location}: it already holds one (config exists)`,
        );
      }
      return backend;
    } catch (err) {
      await backend.close();
      throw err;
    }
  }

  /** One PUT; with `ifAbsent`, a conditional one (or the claim protocol). */
  async save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions): Promise<void> {
    const key = this.#key(type, name, options);
    if (options?.ifAbsent) return this.#create(type, name, key, data, options);
    await this.#put(key, data, options?.signal, options?.retention, options?.sha256);
  }

  /** GETs the object or a range of it, checking the range against its size. */
  async load(
    type: FileType,
    name: string,
    range?: ByteRange,
    options?: OpOptions,
  ): Promise<Uint8Array> {
    const key = this.#key(type, name, options);
    const signal = options?.signal;
    if (!range) {
      const answer = await this.#send({ method: "GET", url: this.#url(key), signal });
      await this.#expect(answer, [200], { type, name });
      return await answer.bytes();
    }
    assertValidRange(range);
    if (range.length === 0) {
      const { size } = await this.stat(type, name, options);
      resolveRange(type, name, range, size);
      return new Uint8Array(0);
    }
    if (type === "data" && range.offset >= 0 && !options?.cache) {
      const got = await this.#readAhead.read(name, range.offset, range.length);
      if (typeof got !== "number") return got;
      resolveRange(type, name, range, got);
      throw new S3TransportError(`S3 GET ${key}: the range came back short`);
    }
    const header = range.offset < 0
      ? `bytes=-${-range.offset}`
      : `bytes=${range.offset}-${range.offset + range.length - 1}`;
    const answer = await this.#send({
      method: "GET",
      url: this.#url(key),
      headers: { range: header },
      signal,
    });
    const status = answer.response.status;
    if (status === 416) {
      await answer.discard();
      const total = contentRangeTotal(answer.response) ??
        (await this.stat(type, name, options)).size;
      resolveRange(type, name, range, total);
      throw new S3Error(`S3 refused range ${header} of ${key} (416)`, 416, "InvalidRange");
    }
    await this.#expect(answer, [200, 206], { type, name });
    const body = await answer.bytes();
    if (status === 200) {
      // The server sent the whole object: slice it ourselves.
      const { start, end } = resolveRange(type, name, range, body.length);
      return body.slice(start, end);
    }
    const cr = parseContentRange(answer.response.headers.get("content-range"));
    if (!cr) throw new S3TransportError(`S3 GET ${key}: 206 without a usable Content-Range`);
    const { start, end } = resolveRange(type, name, range, cr.total);
    if (cr.start > start || cr.end + 1 < end || body.length !== cr.end + 1 - cr.start) {
      throw new S3TransportError(
        `S3 GET ${key}: asked for ${start}-${end - 1}, got bytes ${cr.start}-${cr.end} ` +
          `(${body.length} bytes)`,
      );
    }
    return body.slice(start - cr.start, end - cr.start);
  }

  /**
   * Up to `length` bytes of a file from `offset` (fewer where it ends), and
   * its size: a read-ahead window, which may reach past the end.
   */
  async #getRange(type: FileType, name: string, offset: number, length: number): Promise<Fetched> {
    const key = this.#key(type, name);
    const header = `bytes=${offset}-${offset + length - 1}`;
    const answer = await this.#send({
      method: "GET",
      url: this.#url(key),
      headers: { range: header },
    });
    const status = answer.response.status;
    if (status === 416) {
      await answer.discard();
      const total = contentRangeTotal(answer.response) ?? (await this.stat(type, name)).size;
      return { bytes: new Uint8Array(0), total };
    }
    await this.#expect(answer, [200, 206], { type, name });
    const body = await answer.bytes();
    if (status === 200) {
      // The server sent the whole object.
      return { bytes: body.slice(offset, offset + length), total: body.length };
    }
    const cr = parseContentRange(answer.response.headers.get("content-range"));
    if (!cr) throw new S3TransportError(`S3 GET ${key}: 206 without a usable Content-Range`);
    const want = Math.min(offset + length, cr.total) - 1;
    if (cr.start !== offset || cr.end !== want || body.length !== cr.end + 1 - cr.start) {
      // A range the reported size cannot hold is refused as such (a RangeError, as on a disk).
      if (offset + length > cr.total) return { bytes: new Uint8Array(0), total: cr.total };
      throw new S3TransportError(
        `S3 GET ${key}: asked for ${offset}-${want}, got bytes ${cr.start}-${cr.end} ` +
          `(${body.length} bytes)`,
      );
    }
    return { bytes: body, total: cr.total };
  }

  /** HEADs the object. */
  async stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat> {
    const key = this.#key(type, name, options);
    const answer = await this.#send({
      method: "HEAD",
      url: this.#url(key),
      signal: options?.signal,
    });
    await this.#expect(answer, [200], { type, name });
    await answer.discard();
    return statOf(name, answer.response);
  }

  /**
   * ListObjectsV2, page after page; throws rather than ending early when a
   * page says more follow but gives no continuation token.
   */
  async *list(type: FileType, options?: OpOptions): AsyncIterable<FileStat> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    if (type === "config") {
      try {
        yield await this.stat("config", "config", options);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      return;
    }
    const prefix = this.#key(type, undefined);
    for await (const { key, size, mtimeMs } of this.#listKeys(prefix, signal)) {
      const rest = key.slice(prefix.length);
      const name = type === "data" ? rest.slice(3) : rest;
      if (type === "data" && rest.slice(0, 3) !== `${name.slice(0, 2)}/`) continue;
      if (!isValidName(type, name)) continue;
      yield { name, size, mtimeMs };
    }
  }

  /**
   * HEAD then DELETE: a missing file rejects with NotFoundError, as the
   * contract says. In a versioned bucket (every Object Lock bucket) a DELETE
   * without a version only hides the object behind a delete marker and frees
   * nothing, so each version the HEAD names is deleted by its id until none
   * is left. A version under Object Lock refuses (403): then a plain DELETE
   * adds a delete marker, so the file is gone from listings and loads while
   * its bytes stay in the bucket until the retention ends. Prune checks
   * retention first and leaves locked packs alone rather than hiding them.
   */
  async remove(type: FileType, name: string, options?: OpOptions): Promise<void> {
    const key = this.#key(type, name, options);
    const signal = options?.signal;
    if (type === "data") this.#readAhead.forget(name);
    for (let round = 0;; round++) {
      const head = await this.#send({ method: "HEAD", url: this.#url(key), signal });
      if (round > 0 && head.response.status === 404) return await head.discard();
      await this.#expect(head, [200], { type, name });
      await head.discard();
      const version = head.response.headers.get("x-amz-version-id");
      if (!version || version === "null" || round >= 16) {
        return await this.#deleteSent(key, signal, undefined, { type, name });
      }
      try {
        await this.#deleteSent(key, signal, version, { type, name });
      } catch (err) {
        // A version under Object Lock (or a policy without DeleteObjectVersion):
        // a delete marker still takes the file out of view, as `remove` promises;
        // the locked bytes stay recoverable until their retention ends.
        if (!(err instanceof S3Error && err.status === 403)) throw err;
        return await this.#deleteSent(key, signal, undefined, { type, name });
      }
    }
  }

  /** GetObjectRetention; undefined when the object has none. */
  async retention(
    type: FileType,
    name: string,
    options?: OpOptions,
  ): Promise<Retention | undefined> {
    const url = this.#url(this.#key(type, name, options));
    url.searchParams.set("retention", "");
    const answer = await this.#send({ method: "GET", url, signal: options?.signal });
    if (answer.response.status === 404 || answer.response.status === 400) {
      const { code } = errorDocument(await answer.text().catch(() => ""));
      // AWS says NoSuchObjectLockConfiguration; RGW ObjectLockConfigurationNotFoundError.
      if (/ObjectLockConfiguration|^InvalidRequest$/.test(code)) return undefined;
      if (code === "NoSuchKey") throw new NotFoundError(type, name);
      throw new S3Error(`S3 retention of ${type} file "${name}": ${code}`, 404, code);
    }
    await this.#expect(answer, [200], { type, name });
    const doc = parseXml(await answer.text()).Retention as Record<string, string> | undefined;
    const untilMs = Date.parse(doc?.RetainUntilDate ?? "");
    const mode = doc?.Mode?.toLowerCase();
    if (Number.isNaN(untilMs) || (mode !== "governance" && mode !== "compliance")) return undefined;
    return { mode, untilMs };
  }

  /** PutObjectRetention on the current version (extending only, without bypass). */
  async setRetention(
    type: FileType,
    name: string,
    retention: Retention,
    options?: OpOptions,
  ): Promise<void> {
    const url = this.#url(this.#key(type, name, options));
    url.searchParams.set("retention", "");
    const body = new TextEncoder().encode(
      `<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>` +
        `${retention.mode.toUpperCase()}</Mode><RetainUntilDate>` +
        `${new Date(retention.untilMs).toISOString()}</RetainUntilDate></Retention>`,
    );
    const answer = await this.#send({
      method: "PUT",
      url,
      headers: { "content-md5": md5Base64(body) },
      body,
      signal: options?.signal,
    });
    await this.#expect(answer, [200, 204], { type, name });
    await answer.discard();
  }

  /** Closes the connection pool. */
  close(): Promise<void> {
    this.#http.close();
    return Promise.resolve();
  }

  // --- create-only saves ---------------------------------------------------

  async #create(
    type: FileType,
    name: string,
    key: string,
    data: Uint8Array,
    options: SaveOptions,
  ): Promise<void> {
    const signal = options.signal;
    if (await this.#conditionalWrites(signal)) {
      const answer = await this.#send({
        method: "PUT",
        url: this.#url(key),
        headers: { ...this.#putHeaders(), "if-none-match": "*" },
        body: data,
        signal,
      });
      if (answer.response.status !== 412) {
        await this.#expect(answer, [200], { type, name });
        await answer.discard();
        return;
      }
      await answer.discard();
      return this.#compareExisting(type, name, data, signal);
    }
    return this.#createByClaim(type, name, key, data, signal);
  }

  /** The name is taken: fine if by the same bytes (our own earlier attempt). */
  async #compareExisting(type: FileType, name: string, data: Uint8Array, signal?: AbortSignal) {
    const stored = await this.load(type, name, undefined, { signal });
    if (!sameBytes(stored, data)) throw new AlreadyExistsError(type, name);
  }

  /** Whether the server answers a conditional PUT on an existing key with 412. */
  #conditionalWrites(signal?: AbortSignal): Promise<boolean> {
    this.#conditional ??= (async () => {
      const key = this.#key("config", undefined) + `claims/probe-${randomHex(8)}`;
      const url = this.#url(key);
      await this.#put(key, new Uint8Array(0), signal);
      try {
        const again = await this.#send({
          method: "PUT",
          url,
          headers: { "if-none-match": "*" },
          body: new Uint8Array(0),
          signal,
        });
        await again.discard();
        if (again.response.status === 412) return true;
        await this.#expect(again, [200], {});
        return false;
      } finally {
        await this.#delete(key, signal).catch(() => {});
      }
    })();
    this.#conditional.catch(() => (this.#conditional = undefined));
    return this.#conditional;
  }

  async #createByClaim(
    type: FileType,
    name: string,
    key: string,
    data: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    const exists = () =>
      this.stat(type, name, { signal }).then(() => true, (err) => {
        if (err instanceof NotFoundError) return false;
        throw err;
      });
    const claims = `${this.#key("config", undefined)}claims/${type}-${name}/`;
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      if (await exists()) return this.#compareExisting(type, name, data, signal);
      const mine = claims + randomHex(16);
      await this.#put(mine, new Uint8Array(0), signal);
      let alone: boolean;
      try {
        const live: string[] = [];
        let newest = 0;
        const all = await Array.fromAsync(this.#listKeys(claims, signal));
        for (const c of all) newest = Math.max(newest, c.mtimeMs ?? 0);
        for (const c of all) {
          if (c.key === mine || (c.mtimeMs ?? newest) > newest - CLAIM_TTL_MS) live.push(c.key);
        }
        alone = live.length === 1 && live[0] === mine;
        if (alone && !(await exists())) {
          await this.#put(key, data, signal);
          return;
        }
      } finally {
        await this.#delete(mine, signal).catch(() => {});
      }
      if (alone) return this.#compareExisting(type, name, data, signal);
      await abortableSleep(
        50 + Math.random() * Math.min(CLAIM_MAX_WAIT_MS, 100 * 2 ** round),
        signal,
      );
    }
    throw new S3TransportError(
      `S3: could not settle who creates ${type} file "${name}" after ${CLAIM_ROUNDS} rounds`,
    );
  }

  // --- requests ------------------------------------------------------------

  async #ensureBucket(objectLock: boolean): Promise<void> {
    const url = this.#url("");
    const head = await this.#send({ method: "HEAD", url });
    await head.discard();
    if (head.response.status === 200) return objectLock ? this.#expectObjectLock() : undefined;
    if (head.response.status !== 404) return this.#expect(head, [200], {});
    const region = this.#region;
    const body = region && region !== "us-east-1"
      ? new TextEncoder().encode(
        `<CreateBucketConfiguration><LocationConstraint>${region}</LocationConstraint>` +
          `</CreateBucketConfiguration>`,
      )
      : undefined;
    const headers: Record<string, string> = objectLock
      ? { "x-amz-bucket-object-lock-enabled": "true" }
      : {};
    const put = await this.#send({ method: "PUT", url, body, headers });
    if (put.response.status === 409) {
      const { code } = errorDocument(await put.text());
      if (code === "BucketAlreadyOwnedByYou") {
        return objectLock ? this.#expectObjectLock() : undefined;
      }
      throw new S3Error(
        `S3 bucket "${this.bucket}" belongs to someone else (409 ${code})`,
        409,
        code,
      );
    }
    await this.#expect(put, [200], {});
    await put.discard();
  }

  /** An existing bucket for an Object Lock repository must have Object Lock enabled. */
  async #expectObjectLock(): Promise<void> {
    const url = this.#url("");
    url.searchParams.set("object-lock", "");
    const answer = await this.#send({ method: "GET", url });
    const text = await answer.text().catch(() => "");
    const enabled = answer.response.status === 200 &&
      /<ObjectLockEnabled>\s*Enabled\s*<\/ObjectLockEnabled>/.test(text);
    if (!enabled) {
      throw new S3Error(
        `S3 bucket "${this.bucket}" exists without Object Lock, which can only be turned on when ` +
          `a bucket is created; use a new bucket for an Object Lock repository`,
        answer.response.status === 200 ? 400 : answer.response.status,
        "ObjectLockNotEnabled",
      );
    }
  }

  async #put(
    key: string,
    data: Uint8Array,
    signal?: AbortSignal,
    retention?: Retention,
    sha256?: string,
  ): Promise<void> {
    const headers = this.#putHeaders();
    if (retention) {
      headers["x-amz-object-lock-mode"] = retention.mode.toUpperCase();
      headers["x-amz-object-lock-retain-until-date"] = new Date(retention.untilMs).toISOString();
      headers["content-md5"] = md5Base64(data);
    }
    const answer = await this.#send({
      method: "PUT",
      url: this.#url(key),
      headers,
      body: data,
      bodySha256: sha256,
      signal,
    });
    await this.#expect(answer, [200], {});
    await answer.discard();
  }

  async #delete(
    key: string,
    signal?: AbortSignal,
    version?: string,
    file: { type?: FileType; name?: string } = {},
  ): Promise<void> {
    const url = this.#url(key);
    if (version !== undefined) url.searchParams.set("versionId", version);
    const answer = await this.#send({ method: "DELETE", url, signal });
    await this.#expect(answer, [200, 204], file);
    await answer.discard();
  }

  /**
   * A DELETE for `remove`: once it went out, a lost answer may hide a
   * delete that happened, so a transient failure says `mayHaveApplied` and
   * a retry's HEAD answering 404 counts as done (retry.ts).
   */
  async #deleteSent(
    key: string,
    signal: AbortSignal | undefined,
    version: string | undefined,
    file: { type?: FileType; name?: string },
  ): Promise<void> {
    try {
      await this.#delete(key, signal, version, file);
    } catch (err) {
      if ((err as { transient?: unknown } | null)?.transient === true) {
        Object.assign(err as object, { mayHaveApplied: true });
      }
      throw err;
    }
  }

  async *#listKeys(
    prefix: string,
    signal?: AbortSignal,
  ): AsyncIterable<{ key: string; size: number; mtimeMs?: number }> {
    let token: string | undefined;
    do {
      const url = this.#url("");
      url.searchParams.set("list-type", "2");
      url.searchParams.set("prefix", prefix);
      url.searchParams.set("max-keys", String(this.#pageSize));
      if (token !== undefined) url.searchParams.set("continuation-token", token);
      const answer = await this.#send({ method: "GET", url, signal });
      await this.#expect(answer, [200], {});
      const doc = parseXml(await answer.text()).ListBucketResult as
        | Record<string, unknown>
        | undefined;
      if (!doc) throw new S3TransportError(`S3 listing of ${prefix} is not a ListBucketResult`);
      for (const c of (doc.Contents ?? []) as Record<string, string>[]) {
        const size = Number(c.Size);
        if (typeof c.Key !== "string" || !Number.isSafeInteger(size)) {
          throw new S3TransportError(`S3 listing of ${prefix} has an entry without key or size`);
        }
        const mtime = Date.parse(c.LastModified);
        yield { key: c.Key, size, mtimeMs: Number.isNaN(mtime) ? undefined : mtime };
      }
      const truncated = String(doc.IsTruncated) === "true";
      token = truncated ? String(doc.NextContinuationToken ?? "") : undefined;
      if (token === "") {
        throw new S3TransportError(
          `S3 listing of ${prefix} says more follow but gives no continuation token`,
        );
      }
    } while (token !== undefined);
  }

  #send(init: S3RequestInit): Promise<S3Answer> {
    return this.#http.send(init);
  }

  /**
   * Resolves when the answer has one of `ok` statuses; otherwise reads the
   * error document and throws a one-line error that names the bucket, and
   * for 403 the access key id (never the secret).
   */
  async #expect(
    answer: S3Answer,
    ok: number[],
    file: { type?: FileType; name?: string },
  ): Promise<void> {
    const { response } = answer;
    if (ok.includes(response.status)) return;
    const text = response.body ? await answer.text().catch(() => "") : "";
    const { code, message } = errorDocument(text);
    const status = response.status;
    if (status === 404 && file.type && file.name && code !== "NoSuchBucket") {
      throw new NotFoundError(file.type, file.name);
    }
    const detail = `${status}${code ? " " + code : ""}${message ? ": " + message : ""}`;
    if (code === "RequestTimeTooSkewed" || (status === 403 && skewMs(response) > 15 * 60_000)) {
      const skew = signedSkewMs(response);
      const dir = skew > 0 ? "ahead of" : "behind";
      throw new S3Error(
        `S3 at ${this.#loc.endpoint} refused the request: this machine's clock is ` +
          `${Math.round(Math.abs(skew) / 1000)} s ${dir} the server's (${detail}); fix the clock`,
        status,
        code || "RequestTimeTooSkewed",
      );
    }
    if (status === 403 || status === 401) {
      throw new S3Error(
        `S3 denied access to bucket "${this.bucket}" at ${this.#loc.endpoint} for access key id ` +
          `"${this.accessKeyId}" (${detail})`,
        status,
        code,
      );
    }
    if (code === "NoSuchBucket" || (status === 404 && !file.name)) {
      throw new S3Error(
        `S3 bucket "${this.bucket}" does not exist at ${this.#loc.endpoint} (${detail})`,
        status,
        code,
      );
    }
    const what = file.name ? `${file.type} file "${file.name}"` : `bucket "${this.bucket}"`;
    throw new S3Error(`S3 request for ${what} failed: ${detail}`, status, code);
  }

  /**
   * Headers of every object PUT. `bucket-owner-full-control`: an object
   * another user (an append-only agent) uploads is otherwise owned by that
   * user, and the bucket owner - the maintenance host - could not read it.
   */
  #putHeaders(): Record<string, string> {
    const sc = this.#loc.settings.storageClass;
    return {
      "x-amz-acl": "bucket-owner-full-control",
      ...(sc ? { "x-amz-storage-class": sc } : {}),
    };
  }

  /** The object key of a file, or of a type's folder (with a trailing slash). */
  #key(type: FileType, name: string | undefined, options?: OpOptions): string {
    if (name !== undefined) assertValidName(type, name);
    options?.signal?.throwIfAborted();
    const base = this.#loc.prefix ? `${this.#loc.prefix}/` : "";
    if (name === undefined) return type === "config" ? base : `${base}${type}/`;
    if (type === "config") return `${base}config`;
    if (type === "data") return `${base}data/${name.slice(0, 2)}/${name}`;
    return `${base}${type}/${name}`;
  }

  #url(key: string): URL {
    const endpoint = new URL(this.#loc.endpoint);
    const path = key.split("/").map(encodeURIComponent).join("/");
    if (this.#pathStyle) return new URL(`${endpoint.origin}/${this.bucket}/${path}`);
    return new URL(`${endpoint.protocol}//${this.bucket}.${endpoint.host}/${path}`);
  }
}

function statOf(name: string, response: Response): FileStat {
  const size = Number(response.headers.get("content-length"));
  if (!Number.isSafeInteger(size)) {
    throw new S3TransportError(`S3 HEAD of "${name}" gave no Content-Length`);
  }
  const mtime = Date.parse(response.headers.get("last-modified") ?? "");
  return { name, size, mtimeMs: Number.isNaN(mtime) ? undefined : mtime };
}

function parseContentRange(
  header: string | null,
): { start: number; end: number; total: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header?.trim() ?? "");
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: Number(m[3]) };
}

function contentRangeTotal(response: Response): number | undefined {
  const m = /^bytes \*\/(\d+)$/.exec(response.headers.get("content-range")?.trim() ?? "");
  return m ? Number(m[1]) : undefined;
}

/** Local clock minus the server's (from its Date header); 0 when unknown. */
function signedSkewMs(response: Response): number {
  const server = Date.parse(response.headers.get("date") ?? "");
  return Number.isNaN(server) ? 0 : Date.now() - server;
}

function skewMs(response: Response): number {
  return Math.abs(signedSkewMs(response));
}

function isValidName(type: FileType, name: string): boolean {
  try {
    assertValidName(type, name);
    return true;
  } catch {
    return false;
  }
}

/** Content-MD5, which S3 requires of PUTs that set Object Lock retention. */
function md5Base64(data: Uint8Array): string {
  return createHash("md5").update(data).digest("base64");
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
