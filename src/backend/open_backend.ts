/**
 * Maps a repository location string, as typed by a user or written in a job
 * file, to the backend that serves it.
 *
 * @module
 */

import type {
  Backend,
  ByteRange,
  FileStat,
  FileType,
  OpOptions,
  Retention,
  SaveOptions,
} from "./backend.ts";
import { LocalBackend } from "./local.ts";
import { RetryBackend } from "./retry.ts";
import { cacheDirFor, CachingBackend } from "./cache.ts";
import type { S3Backend, S3BackendOptions } from "./s3.ts";
import { resolveS3 } from "./_s3_credentials.ts";
import {
  formatS3Location,
  isS3Location,
  parseS3Location,
  type S3Location,
} from "./_s3_location.ts";
import type { S3Settings } from "./s3_settings.ts";

/** What a location alone does not say: the environment, and a job file's S3 keys. */
export interface OpenOptions {
  /** Where AWS_* variables are read; default the process environment. */
  env?: Record<string, string | undefined>;
  /** A job file's S3 repository keys (they override settings in the location). */
  s3?: S3Settings;
  /** Low-level S3 tuning, for tests. */
  s3Backend?: Omit<S3BackendOptions, "env">;
  /**
   * Keep a remote repository's index, snapshot files and tree segments in a
   * local cache (cache.ts; default true, in the folder {@link cacheDirFor}
   * picks). `check` turns it off: it must read what storage holds.
   */
  cache?: boolean;
}

/**
 * Opens the backend for `location`: a plain path or `local:PATH` (relative
 * paths resolve against the cwd), or `s3:…` (see _s3_location.ts), which
 * comes wrapped in a {@link RetryBackend} and, unless `cache` is false or
 * `CAIRN_CACHE_DIR=off`, a {@link CachingBackend}. Other schemes throw a
 * `TypeError`. Sends nothing; a missing repository shows up on the first
 * operation.
 */
export function openBackend(location: string, options: OpenOptions = {}): Backend {
  if (isS3Location(location)) {
    const loc = checkS3(location, options);
    const where = formatS3Location(loc);
    const backend = new RetryBackend(
      new LazyBackend(where, async () => {
        const { S3Backend } = await import("./s3.ts");
        return new S3Backend(loc, { ...options.s3Backend, env: options.env });
      }),
    );
    const dir = options.cache === false
      ? undefined
      : cacheDirFor(where, options.env ?? Deno.env.toObject());
    return dir ? new CachingBackend(backend, dir) : backend;
  }
  return new LocalBackend(localPath(location));
}

/**
 * Prepares storage for a new repository at `location` (for a local path:
 * makes the folder layout; for S3: makes the bucket if it is missing) and
 * opens it. Rejects with `Deno.errors.AlreadyExists` if a repository is
 * already there. `init` must use this rather than {@link openBackend}, which
 * never creates folders so that an unmounted disk fails instead of filling up.
 */
export async function createBackend(location: string, options: OpenOptions = {}): Promise<Backend> {
  if (isS3Location(location)) {
    const loc = checkS3(location, options);
    const { S3Backend } = await import("./s3.ts");
    return new RetryBackend(
      await S3Backend.create(loc, { ...options.s3Backend, env: options.env }),
    );
  }
  return await LocalBackend.create(localPath(location));
}

/**
 * Parses an S3 location and resolves its credentials now, so that a bad
 * location or missing key fails when the backend is opened, not later.
 */
function checkS3(location: string, options: OpenOptions): S3Location {
  const loc = parseS3Location(location, options.s3);
  resolveS3(loc.settings, options.env ?? Deno.env.toObject(), loc.endpoint.startsWith("https:"));
  return loc;
}

/**
 * Loads a backend's module on first use. The S3 code and its packages took
 * about 40 ms to import here (README), which a local-only run, or
 * `cairn --help`, should not pay.
 */
class LazyBackend implements Backend {
  #backend: Promise<Backend> | undefined;
  readonly #open: () => Promise<S3Backend>;

  constructor(readonly location: string, open: () => Promise<S3Backend>) {
    this.#open = open;
  }

  #get(): Promise<Backend> {
    this.#backend ??= this.#open();
    return this.#backend;
  }

  async save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions) {
    return (await this.#get()).save(type, name, data, options);
  }

  async load(type: FileType, name: string, range?: ByteRange, options?: OpOptions) {
    return (await this.#get()).load(type, name, range, options);
  }

  async stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat> {
    return (await this.#get()).stat(type, name, options);
  }

  async *list(type: FileType, options?: OpOptions): AsyncIterable<FileStat> {
    yield* (await this.#get()).list(type, options);
  }

  async remove(type: FileType, name: string, options?: OpOptions) {
    return (await this.#get()).remove(type, name, options);
  }

  async retention(type: FileType, name: string, options?: OpOptions) {
    const inner = await this.#get();
    return inner.retention ? inner.retention(type, name, options) : undefined;
  }

  async setRetention(type: FileType, name: string, r: Retention, options?: OpOptions) {
    const inner = await this.#get();
    if (!inner.setRetention) throw new TypeError(`${this.location} has no Object Lock`);
    return inner.setRetention(type, name, r, options);
  }

  async close(): Promise<void> {
    if (this.#backend) await (await this.#backend).close();
  }
}

/** The filesystem path a location names; throws for other schemes. */
function localPath(location: string): string {
  if (location === "") throw new TypeError("Repository location is empty");
  // One letter before the colon is a Windows drive (C:\repo), not a scheme.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return location;
  if (scheme === "local") {
    const path = location.slice("local:".length);
    if (path === "") throw new TypeError(`Repository location "${location}" has no path`);
    return path;
  }
  throw new TypeError(
    `Repository location "${location}": scheme "${scheme}:" is not supported ` +
      `(use a path, local:PATH or s3:…; write ./${location} for a local path)`,
  );
}
