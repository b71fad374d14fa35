/**
 * A backend that reads through to the real one and writes nothing to it
 * (`cairn backup --dry-run`): small files a run writes (locks, index files,
 * a snapshot) are kept in memory so the run reads them back as usual; packs
 * are only counted, by name and size, since nothing reads back a pack it
 * just wrote. Removes of such files forget them; removes of real files are
 * refused, so a dry run can never delete anything.
 *
 * @module
 */
import type { Backend, ByteRange, FileStat, FileType, OpOptions, SaveOptions } from "./backend.ts";

export class DryRunBackend implements Backend {
  /** Files "written" in this run, by type then name. */
  readonly #kept = new Map<FileType, Map<string, { data?: Uint8Array; stat: FileStat }>>();
  /** What the run would have stored. */
  readonly written = { files: 0, bytes: 0, packs: 0, packBytes: 0 };

  constructor(readonly inner: Backend) {}

  get location(): string {
    return this.inner.location;
  }

  #of(type: FileType) {
    let m = this.#kept.get(type);
    if (!m) this.#kept.set(type, m = new Map());
    return m;
  }

  save(type: FileType, name: string, data: Uint8Array, _options?: SaveOptions): Promise<void> {
    const stat = { name, size: data.length, mtimeMs: Date.now() };
    this.#of(type).set(name, { data: type === "data" ? undefined : data.slice(), stat });
    this.written.files++;
    this.written.bytes += data.length;
    if (type === "data") (this.written.packs++, this.written.packBytes += data.length);
    return Promise.resolve();
  }

  load(type: FileType, name: string, range?: ByteRange, options?: OpOptions): Promise<Uint8Array> {
    const kept = this.#of(type).get(name);
    if (!kept) return this.inner.load(type, name, range, options);
    if (!kept.data) {
      return Promise.reject(
        new Error(`dry run: ${type}/${name} was not stored, so cannot be read`),
      );
    }
    const d = kept.data;
    if (!range) return Promise.resolve(d.slice());
    const start = range.offset < 0 ? d.length + range.offset : range.offset;
    if (start < 0 || start + range.length > d.length) {
      return Promise.reject(new RangeError(`range beyond ${type}/${name}`));
    }
    return Promise.resolve(d.slice(start, start + range.length));
  }

  stat(type: FileType, name: string, options?: OpOptions): Promise<FileStat> {
    const kept = this.#of(type).get(name);
    return kept ? Promise.resolve({ ...kept.stat }) : this.inner.stat(type, name, options);
  }

  async *list(type: FileType, options?: OpOptions): AsyncIterable<FileStat> {
    const kept = this.#of(type);
    for await (const f of this.inner.list(type, options)) if (!kept.has(f.name)) yield f;
    for (const { stat } of kept.values()) yield { ...stat };
  }

  remove(type: FileType, name: string, _options?: OpOptions): Promise<void> {
    if (this.#of(type).delete(name)) return Promise.resolve();
    return Promise.reject(new Error(`dry run: ${type}/${name} was not removed`));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
