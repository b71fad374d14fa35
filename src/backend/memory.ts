/**
 * An in-memory {@link Backend} for fast engine tests.
 *
 * @module
 */

import {
  AlreadyExistsError,
  assertValidName,
  type Backend,
  type ByteRange,
  FILE_TYPES,
  type FileStat,
  type FileType,
  NotFoundError,
  type OpOptions,
  type SaveOptions,
} from "./backend.ts";
import { resolveRange } from "./_range.ts";
import { settle } from "./_settle.ts";

interface Entry {
  data: Uint8Array;
  mtimeMs: number;
}

/**
 * Keeps every file in a Map; copies on save and on load so a caller can never
 * alias stored bytes.
 *
 * Stricter than a disk in one way, to catch engine bugs early: saving
 * different bytes under a name that already exists throws, because the
 * repository promises never to do that (names are content-derived).
 */
export class MemoryBackend implements Backend {
  readonly location: string = "memory:";
  readonly #files = new Map<FileType, Map<string, Entry>>(
    FILE_TYPES.map((type) => [type, new Map()]),
  );

  /** Stores a copy of `data`; re-saving identical bytes is a no-op. */
  save(type: FileType, name: string, data: Uint8Array, options?: SaveOptions): Promise<void> {
    return settle(() => {
      assertValidName(type, name);
      options?.signal?.throwIfAborted();
      const files = this.#files.get(type)!;
      const existing = files.get(name);
      if (existing) {
        if (!equalBytes(existing.data, data)) {
          if (options?.ifAbsent) throw new AlreadyExistsError(type, name);
          throw new Error(`Cannot save ${type} file "${name}": it exists with different bytes`);
        }
        return;
      }
      files.set(name, { data: data.slice(), mtimeMs: Date.now() });
    });
  }

  /** Returns a fresh copy of the file or of the requested range. */
  load(type: FileType, name: string, range?: ByteRange, options?: OpOptions): Promise<Uint8Array> {
    return settle(() => {
      const { data } = this.#get(type, name, options);
      if (!range) return data.slice();
      const { start, end } = resolveRange(type, name, range, data.length);
      return data.slice(start, end);
    });
  }

  /** Size and save time of a stored file. */
  stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat> {
    return settle(() => {
      const { data, mtimeMs } = this.#get(type, name, options);
      return { name, size: data.length, mtimeMs };
    });
  }

  /** Yields the files present when the listing started. */
  async *list(type: FileType, options?: OpOptions): AsyncIterable<FileStat> {
    options?.signal?.throwIfAborted();
    // Snapshot first: a save during iteration must not disturb the Map iterator.
    const entries = [...this.#files.get(type)!];
    for (const [name, { data, mtimeMs }] of entries) {
      options?.signal?.throwIfAborted();
      yield { name, size: data.length, mtimeMs };
    }
  }

  /** Forgets a file. */
  remove(type: FileType, name: string, options?: OpOptions): Promise<void> {
    return settle(() => {
      this.#get(type, name, options);
      this.#files.get(type)!.delete(name);
    });
  }

  /** Nothing to release; the stored files stay readable. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  #get(type: FileType, name: string, options: OpOptions | undefined): Entry {
    assertValidName(type, name);
    options?.signal?.throwIfAborted();
    const entry = this.#files.get(type)!.get(name);
    if (!entry) throw new NotFoundError(type, name);
    return entry;
  }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
