/**
 * The default {@link Backend}: a repository in a directory on a local disk.
 *
 * Layout:
 * ```
 * config
 * keys/<name>  snapshots/<name>  index/<name>  locks/<name>
 * data/<xx>/<name>     xx = first two hex characters of the name
 * ```
 * Splitting `data/` into 256 folders keeps each directory small enough for
 * every filesystem to look names up quickly, even with millions of packs.
 *
 * @module
 */

import { basename, dirname, join, resolve } from "node:path";
import {
  AlreadyExistsError,
  assertValidName,
  type Backend,
  type ByteRange,
  type FileStat,
  type FileType,
  NotFoundError,
  type OpOptions,
  type SaveOptions,
} from "./backend.ts";
import { syncDirSync, TEMP_PREFIX, writeFileAtomic } from "../fs/mod.ts";
import { ioError, readRangeSync } from "./_fs.ts";
import { resolveRange } from "./_range.ts";
import { settle } from "./_settle.ts";

/**
 * Stored files are owner-read-only: read-only because nothing is ever
 * rewritten (a stray write fails loudly), owner-only because a repository
 * holds key files and its sizes and names leak metadata.
 */
const FILE_MODE = 0o400;
/** Folders are private to the owner for the same reason. */
const DIR_MODE = 0o700;

const FLAT_TYPES = ["keys", "snapshots", "index", "locks"] as const;
const DATA_PREFIXES: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/**
 * Stores a repository in a local directory, with synchronous I/O behind the
 * async interface (faster in the Web Workers that use it; note that on the
 * main thread each call blocks the event loop until the disk answers).
 */
export class LocalBackend implements Backend {
  /** `local:` followed by the absolute path of the repository. */
  readonly location: string;
  /** Absolute path of the repository directory. */
  readonly dir: string;

  /** Opens the repository in `dir` (relative to the cwd); does no I/O. */
  constructor(dir: string) {
    this.dir = resolve(dir);
    this.location = `local:${this.dir}`;
  }

  /**
   * Creates the folder layout in `dir` (made if missing) and returns a backend
   * on it. Refuses with `Deno.errors.AlreadyExists` when `dir` already holds a
   * repository; a half-made layout without `config` is simply completed.
   */
  static create(dir: string): Promise<LocalBackend> {
    return settle(() => {
      const backend = new LocalBackend(dir);
      const root = backend.dir;
      let taken: boolean;
      try {
        Deno.mkdirSync(root, { recursive: true, mode: DIR_MODE });
        taken = exists(join(root, "config"));
        if (!taken) {
          for (const type of [...FLAT_TYPES, "data"]) mkdir(join(root, type));
          for (const prefix of DATA_PREFIXES) mkdir(join(root, "data", prefix));
          syncDirSync(join(root, "data"));
          syncDirSync(root);
          syncDirSync(dirname(root));
        }
      } catch (err) {
        throw ioError(err, "create a repository in", root);
      }
      if (taken) {
        throw new Deno.errors.AlreadyExists(
          `Cannot create a repository in ${root}: it already holds one (config exists)`,
        );
      }
      return backend;
    });
  }

  /** Whether `dir` holds a repository, i.e. has a `config` file. */
  static isRepository(dir: string): Promise<boolean> {
    return settle(() => {
      const path = join(resolve(dir), "config");
      try {
        return exists(path);
      } catch (err) {
        throw ioError(err, "stat", path);
      }
    });
  }

  /** Writes the file crash-safely; see {@link writeFileAtomic}. */
  async save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions): Promise<void> {
    const path = this.#path(type, name, options);
    const dir = dirname(path);
    const ifAbsent = options?.ifAbsent ?? false;
    let result: "written" | "exists";
    try {
      try {
        result = await writeFileAtomic(path, data, { mode: FILE_MODE, ifAbsent });
      } catch (err) {
        // data/xx may be missing when the layout was made by another tool;
        // create just that folder. Never recreate the repository itself: an
        // unmounted disk must fail, not grow an empty repository.
        if (!(err instanceof Deno.errors.NotFound) || type !== "data") throw err;
        mkdir(dir);
        syncDirSync(dirname(dir));
        result = await writeFileAtomic(path, data, { mode: FILE_MODE, ifAbsent });
      }
    } catch (err) {
      throw ioError(err, "save", path);
    }
    if (result === "exists" && !sameBytes(await this.load(type, name, undefined, options), data)) {
      throw new AlreadyExistsError(type, name);
    }
  }

  /** Reads the whole file, or only the requested range of it. */
  load(type: FileType, name: string, range?: ByteRange, options?: OpOptions): Promise<Uint8Array> {
    return settle(() => {
      const path = this.#path(type, name, options);
      if (!range) return this.#io(type, name, path, "load", () => Deno.readFileSync(path));
      const file = this.#io(type, name, path, "load", () => Deno.openSync(path, { read: true }));
      try {
        const size = this.#io(type, name, path, "stat", () => file.statSync().size);
        const { start, end } = resolveRange(type, name, range, size);
        return this.#io(type, name, path, "load", () => readRangeSync(file, start, end));
      } finally {
        file.close();
      }
    });
  }

  /** Size and modification time of a file. */
  stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat> {
    return settle(() => {
      const path = this.#path(type, name, options);
      const info = this.#io(type, name, path, "stat", () => Deno.statSync(path));
      return toFileStat(name, info);
    });
  }

  /**
   * Yields every file of `type`, skipping temp files and anything whose name
   * `load` would refuse or not find. Throws if a folder that must exist is
   * missing: an empty list from an unmounted disk could make prune delete.
   */
  async *list(type: FileType, options?: OpOptions): AsyncIterable<FileStat> {
    options?.signal?.throwIfAborted();
    if (type === "config") {
      const path = join(this.dir, "config");
      try {
        yield toFileStat("config", Deno.statSync(path));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw ioError(err, "stat", path);
      }
      return;
    }
    const top = join(this.dir, type);
    const folders = type === "data" ? DATA_PREFIXES.map((p) => join(top, p)) : [top];
    // data/xx folders may be created lazily, so only data/ itself must exist.
    if (type === "data") readDir(top);
    for (const folder of folders) {
      options?.signal?.throwIfAborted();
      let entries: Deno.DirEntry[];
      try {
        entries = readDir(folder);
      } catch (err) {
        if (folder !== top && err instanceof Deno.errors.NotFound) continue;
        throw err;
      }
      const prefix = type === "data" ? basename(folder) : "";
      for (const entry of entries) {
        // A data file in the wrong data/xx folder is one `load` cannot find.
        if (!isListable(type, entry.name) || !entry.name.startsWith(prefix)) continue;
        const path = join(folder, entry.name);
        let info: Deno.FileInfo;
        try {
          info = Deno.statSync(path);
        } catch (err) {
          if (err instanceof Deno.errors.NotFound) continue; // removed meanwhile
          throw ioError(err, "stat", path);
        }
        if (info.isFile) yield toFileStat(entry.name, info);
      }
    }
  }

  /** Temp files of saves a crash or kill interrupted, as paths inside the repository. */
  async *listTemporary(options?: OpOptions): AsyncIterable<FileStat> {
    const folders = ["", ...FLAT_TYPES, "data", ...DATA_PREFIXES.map((p) => `data/${p}`)];
    for (const folder of folders) {
      options?.signal?.throwIfAborted();
      let entries: Deno.DirEntry[];
      try {
        entries = readDir(join(this.dir, folder));
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) continue;
        throw err;
      }
      for (const e of entries) {
        if (!e.isFile || !e.name.startsWith(TEMP_PREFIX)) continue;
        const name = folder === "" ? e.name : `${folder}/${e.name}`;
        try {
          yield toFileStat(name, Deno.statSync(join(this.dir, name)));
        } catch (err) {
          if (!(err instanceof Deno.errors.NotFound)) throw ioError(err, "stat", name);
        }
      }
    }
  }

  /** Removes one temp file {@link listTemporary} listed. */
  removeTemporary(name: string, options?: OpOptions): Promise<void> {
    return settle(() => {
      options?.signal?.throwIfAborted();
      const ok = /^(?:(?:keys|snapshots|index|locks|data(?:\/[0-9a-f]{2})?)\/)?\.tmp-[0-9a-f]+$/;
      if (!ok.test(name)) throw new TypeError(`Not a temp file name: "${name}"`);
      const path = join(this.dir, name);
      try {
        Deno.removeSync(path);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return;
        throw ioError(err, "remove", path);
      }
    });
  }

  /** Deletes a file (the directory is not fsynced: a resurrected file is harmless). */
  remove(type: FileType, name: string, options?: OpOptions): Promise<void> {
    return settle(() => {
      const path = this.#path(type, name, options);
      this.#io(type, name, path, "remove", () => Deno.removeSync(path));
    });
  }

  /** Nothing stays open between calls, so there is nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #path(type: FileType, name: string, options?: OpOptions): string {
    assertValidName(type, name);
    options?.signal?.throwIfAborted();
    if (type === "config") return join(this.dir, "config");
    if (type === "data") return join(this.dir, "data", name.slice(0, 2), name);
    return join(this.dir, type, name);
  }

  /** Runs one fs call, turning "no such file" into {@link NotFoundError}. */
  #io<T>(type: FileType, name: string, path: string, verb: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw new NotFoundError(type, name, { cause: err });
      if (err instanceof Deno.errors.NotADirectory && this.#dirIsFile()) {
        throw new Deno.errors.NotADirectory(
          `repository ${this.dir} is a file, not a repository directory`,
          { cause: err },
        );
      }
      throw ioError(err, verb, path);
    }
  }

  /** Is the repository's own path a file (the usual cause of "not a directory")? */
  #dirIsFile(): boolean {
    try {
      return Deno.statSync(this.dir).isFile;
    } catch {
      return false;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function isListable(type: FileType, name: string): boolean {
  try {
    assertValidName(type, name);
    return true;
  } catch {
    return false;
  }
}

function readDir(dir: string): Deno.DirEntry[] {
  try {
    // Drain the iterator before yielding so no directory handle stays open
    // while a slow consumer works through the entries.
    return Array.from(Deno.readDirSync(dir));
  } catch (err) {
    throw ioError(err, "list", dir);
  }
}

function mkdir(dir: string): void {
  try {
    Deno.mkdirSync(dir, { mode: DIR_MODE });
  } catch (err) {
    // Another worker may have made it first; that is the outcome we wanted.
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function toFileStat(name: string, info: Deno.FileInfo): FileStat {
  return { name, size: info.size, mtimeMs: info.mtime?.getTime() };
}
