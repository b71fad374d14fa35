/**
 * A local cache of a remote repository's metadata, as restic keeps in
 * ~/.cache/restic: index files, snapshot files and the pack ranges that hold
 * trees, so that a backup or restore does not fetch them from object storage
 * again on every run (an unchanged rerun of the Linux tree into RGW fetched
 * 3.5 MiB of index and 45 tree segments, 4.4 MiB, each time).
 *
 * Layout under the cache folder (one per repository location):
 * ```
 * index/<name>  snapshots/<name>          the file's bytes
 * data/<xx>/<pack>-<offset>-<length>      SHA-256 of the bytes ‖ the bytes
 * ```
 * Nothing read from the cache is trusted: an index or snapshot file must
 * hash to its name (names are the SHA-256 of the stored bytes), a range to
 * the hash stored in front of it; anything else is removed and fetched
 * again. Since a name never holds other bytes, an entry can only be right
 * or damaged, never stale. Entries are written to a temporary name and
 * renamed, so a reader never sees half of one. The cache is best effort:
 * a cache folder that cannot be written (full, read-only) costs fetches,
 * never an error. It shrinks by itself: a complete listing of index,
 * snapshots or data drops the entries of files no longer listed, and
 * `remove` drops a file's entries.
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
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";

/** Types whose whole files are kept. */
const WHOLE: ReadonlySet<FileType> = new Set(["index", "snapshots"]);
/** Ranges larger than this are not kept (a tree segment is at most about 768 KiB). */
const MAX_RANGE = 4 * 1024 * 1024;
const HASH = 32;

/** Counts of what the cache served, for tests and reports. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries found damaged (and removed). */
  damaged: number;
}

/**
 * Wraps a backend: loads of index and snapshot files, and of data ranges
 * asked for with `cache: true` ({@link OpOptions}), are served from `dir`
 * when it holds them and kept there when it does not.
 */
export class CachingBackend implements Backend {
  readonly location: string;
  readonly stats: CacheStats = { hits: 0, misses: 0, damaged: 0 };

  constructor(readonly inner: Backend, readonly dir: string) {
    this.location = inner.location;
  }

  async save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions) {
    await this.inner.save(type, name, data, options);
    // What this host writes it reads next run (its own new index and snapshot,
    // and the tree segments of its new packs, which the next backup's walk
    // reads: an unchanged rerun into RGW fetched each of them, 45 GETs).
    if (WHOLE.has(type)) this.#write(this.#path(type, name), data);
    else if (type === "data") {
      for (const r of options?.cacheRanges ?? []) {
        if (!cacheable(r) || r.offset + r.length > data.length) continue;
        this.#writeRange(name, r, data.subarray(r.offset, r.offset + r.length));
      }
    }
  }

  async load(
    type: FileType,
    name: string,
    range?: ByteRange,
    options?: OpOptions,
  ): Promise<Uint8Array> {
    options?.signal?.throwIfAborted();
    if (!range && WHOLE.has(type)) {
      const path = this.#path(type, name);
      const hit = this.#read(path);
      if (hit && sha256Hex(hit) === name) return this.#hit(hit);
      if (hit) this.#damaged(path);
      const bytes = await this.inner.load(type, name, range, options);
      this.stats.misses++;
      // Only bytes that match their name are kept (other names are not content hashes).
      if (sha256Hex(bytes) === name) this.#write(path, bytes);
      return bytes;
    }
    if (range && type === "data" && options?.cache && cacheable(range)) {
      const path = this.#rangePath(name, range);
      const hit = this.#read(path);
      if (hit && hit.length === HASH + range.length) {
        const body = hit.subarray(HASH);
        if (Buffer.compare(sha256(body), hit.subarray(0, HASH)) === 0) {
          return this.#hit(body.slice());
        }
      }
      if (hit) this.#damaged(path);
      const bytes = await this.inner.load(type, name, range, options);
      this.stats.misses++;
      this.#writeRange(name, range, bytes);
      return bytes;
    }
    return this.inner.load(type, name, range, options);
  }

  stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat> {
    return this.inner.stat(type, name, options);
  }

  /** Lists through; a listing that completes drops the entries of files it did not name. */
  async *list(type: FileType, options?: OpOptions): AsyncIterable<FileStat> {
    const names = new Set<string>();
    for await (const f of this.inner.list(type, options)) {
      names.add(f.name);
      yield f;
    }
    if (WHOLE.has(type)) {
      for (const e of this.#entries(join(this.dir, type))) {
        if (!names.has(e) && !e.startsWith(".")) this.#drop(join(this.dir, type, e));
      }
    } else if (type === "data") {
      for (const sub of this.#entries(join(this.dir, "data"))) {
        for (const e of this.#entries(join(this.dir, "data", sub))) {
          if (!names.has(e.split("-")[0])) this.#drop(join(this.dir, "data", sub, e));
        }
      }
    }
  }

  async remove(type: FileType, name: string, options?: OpOptions): Promise<void> {
    await this.inner.remove(type, name, options);
    if (WHOLE.has(type)) this.#drop(this.#path(type, name));
    else if (type === "data") {
      const sub = join(this.dir, "data", name.slice(0, 2));
      for (const e of this.#entries(sub)) if (e.startsWith(`${name}-`)) this.#drop(join(sub, e));
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  retention(type: FileType, name: string, options?: OpOptions): Promise<Retention | undefined> {
    return this.inner.retention
      ? this.inner.retention(type, name, options)
      : Promise.resolve(undefined);
  }

  setRetention(type: FileType, name: string, r: Retention, options?: OpOptions): Promise<void> {
    if (!this.inner.setRetention) {
      return Promise.reject(new TypeError(`${this.location} has no Object Lock`));
    }
    return this.inner.setRetention(type, name, r, options);
  }

  #hit(bytes: Uint8Array): Uint8Array {
    this.stats.hits++;
    return bytes;
  }

  #damaged(path: string): void {
    this.stats.damaged++;
    this.#drop(path);
  }

  #path(type: FileType, name: string): string {
    return join(this.dir, type, name);
  }

  #rangePath(name: string, r: ByteRange): string {
    return join(this.dir, "data", name.slice(0, 2), `${name}-${r.offset}-${r.length}`);
  }

  /** Keeps `bytes`, range `r` of pack `name`, behind their hash. */
  #writeRange(name: string, r: ByteRange, bytes: Uint8Array): void {
    const entry = new Uint8Array(HASH + bytes.length);
    entry.set(sha256(bytes));
    entry.set(bytes, HASH);
    this.#write(this.#rangePath(name, r), entry);
  }

  #read(path: string): Uint8Array | undefined {
    try {
      return Deno.readFileSync(path);
    } catch {
      return undefined;
    }
  }

  #write(path: string, bytes: Uint8Array): void {
    const tmp = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      Deno.mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
      Deno.writeFileSync(tmp, bytes, { mode: 0o600 });
      Deno.renameSync(tmp, path);
    } catch {
      this.#drop(tmp);
    }
  }

  #drop(path: string): void {
    try {
      Deno.removeSync(path);
    } catch { /* gone already, or not ours to remove: the cache is best effort */ }
  }

  #entries(dir: string): string[] {
    try {
      return [...Deno.readDirSync(dir)].map((e) => e.name);
    } catch {
      return [];
    }
  }
}

function cacheable(r: ByteRange): boolean {
  return r.offset >= 0 && r.length > 0 && r.length <= MAX_RANGE;
}

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash("sha256").update(bytes).digest();
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * The cache folder for a repository at `location`: under `CAIRN_CACHE_DIR`,
 * else `$XDG_CACHE_HOME/cairn`, else `~/.cache/cairn`, one folder per
 * location (named by a hash of it). Undefined when caching is off
 * (`CAIRN_CACHE_DIR=off`) or there is no home to put it in.
 */
export function cacheDirFor(
  location: string,
  env: Record<string, string | undefined>,
): string | undefined {
  const given = env.CAIRN_CACHE_DIR;
  if (given === "off") return undefined;
  const root = given ||
    (env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, "cairn") : undefined) ||
    (env.HOME ? join(env.HOME, ".cache", "cairn") : undefined);
  if (!root) return undefined;
  return join(root, sha256Hex(new TextEncoder().encode(location)).slice(0, 32));
}
