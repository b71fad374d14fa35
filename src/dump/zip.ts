/**
 * Zip archives, streamed: each file is deflated as it is read and followed
 * by a data descriptor, so nothing is buffered; the central directory at the
 * end carries Unix modes (external attributes), and every entry an extended
 * timestamp and its numeric owner, as Info-ZIP's unzip reads them. No Zip64:
 * an entry or archive past 4 GiB, or more than 65,535 entries, is refused
 * with {@link ZipLimitError} (tar has no such limits).
 */
import { createCRC32, type IHasher } from "hash-wasm";
import { isByteName, nameBytes } from "../platform/mod.ts";

/** A name's bytes: UTF-8, or for a name that is not UTF-8 its exact bytes. */
const enc = { encode: nameBytes };
const LIMIT = 0xffffffff;

/** Raised when the archive would need Zip64. */
export class ZipLimitError extends Error {}

export interface ZipEntry {
  /** Relative path; directories end with `/`. */
  path: string;
  type: "file" | "dir" | "symlink";
  /** Permission bits (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

interface Written {
  header: Uint8Array;
  offset: number;
  crc: number;
  csize: number;
  usize: number;
  method: number;
  flags: number;
  extra: Uint8Array;
  name: Uint8Array;
  externalAttrs: number;
}

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000 };

/** Writes entries one after the other, then the central directory. */
export class ZipWriter {
  #offset = 0;
  #entries: Written[] = [];
  #crc: IHasher | undefined;

  constructor(private readonly out: (bytes: Uint8Array) => Promise<void>) {}

  async #write(b: Uint8Array): Promise<void> {
    if (b.length === 0) return;
    this.#offset += b.length;
    if (this.#offset > LIMIT) {
      throw new ZipLimitError("the zip archive passed 4 GiB, beyond zip without Zip64; use tar");
    }
    await this.out(b);
  }

  async #hasher(): Promise<IHasher> {
    this.#crc ??= await createCRC32();
    this.#crc.init();
    return this.#crc;
  }

  /**
   * One entry. A file's content comes from `content` and is deflated; a
   * symlink's content is its target and a directory has none, both stored.
   */
  async add(e: ZipEntry, content?: AsyncIterable<Uint8Array> | Uint8Array): Promise<void> {
    if (this.#entries.length >= 0xffff) {
      throw new ZipLimitError("more than 65,535 entries, beyond zip without Zip64; use tar");
    }
    const name = enc.encode(e.path);
    const extra = extraFields(e);
    const deflate = e.type === "file";
    // UTF-8 names (not for one that is not UTF-8: its bytes as they are); sizes after the data.
    const flags = (isByteName(e.path) ? 0 : 0x0800) | (deflate ? 0x0008 : 0);
    const method = deflate ? 8 : 0;
    const offset = this.#offset;
    const w: Written = {
      header: new Uint8Array(0),
      offset,
      crc: 0,
      csize: 0,
      usize: 0,
      method,
      flags,
      extra,
      name,
      externalAttrs: ((TYPE_BITS[e.type] | (e.mode & 0o7777)) << 16 >>> 0) |
        (e.type === "dir" ? 0x10 : 0),
    };
    const [time, date] = dosTime(e.mtime);
    if (!deflate) {
      const data = content instanceof Uint8Array ? content : new Uint8Array(0);
      const h = await this.#hasher();
      h.update(data);
      w.crc = parseInt(h.digest("hex"), 16);
      w.csize = w.usize = data.length;
      await this.#write(localHeader(w, time, date));
      await this.#write(data);
    } else {
      await this.#write(localHeader(w, time, date));
      const h = await this.#hasher();
      const cs = new CompressionStream("deflate-raw");
      const writer = cs.writable.getWriter();
      const reading = (async () => {
        for await (const c of cs.readable) {
          w.csize += c.length;
          await this.#write(c);
        }
      })();
      try {
        if (content && !(content instanceof Uint8Array)) {
          for await (const blob of content) {
            h.update(blob);
            w.usize += blob.length;
            if (w.usize > LIMIT) {
              throw new ZipLimitError(
                `${e.path} is 4 GiB or more, beyond zip without Zip64; use tar`,
              );
            }
            await writer.write(blob as Uint8Array<ArrayBuffer>);
          }
        }
        await writer.close();
      } catch (err) {
        await writer.abort(err).catch(() => {});
        await reading.catch(() => {});
        throw err;
      }
      await reading;
      w.crc = parseInt(h.digest("hex"), 16);
      const d = new DataView(new ArrayBuffer(16));
      d.setUint32(0, 0x08074b50, true);
      d.setUint32(4, w.crc, true);
      d.setUint32(8, w.csize, true);
      d.setUint32(12, w.usize, true);
      await this.#write(new Uint8Array(d.buffer));
    }
    w.header = new Uint8Array([time & 0xff, time >> 8, date & 0xff, date >> 8]);
    this.#entries.push(w);
  }

  /** The central directory and its end record. */
  async finish(): Promise<void> {
    const start = this.#offset;
    for (const w of this.#entries) {
      const d = new DataView(new ArrayBuffer(46));
      d.setUint32(0, 0x02014b50, true);
      d.setUint16(4, (3 << 8) | 20, true); // made by Unix, zip 2.0
      d.setUint16(6, 20, true);
      d.setUint16(8, w.flags, true);
      d.setUint16(10, w.method, true);
      new Uint8Array(d.buffer).set(w.header, 12);
      d.setUint32(16, w.crc, true);
      d.setUint32(20, w.csize, true);
      d.setUint32(24, w.usize, true);
      d.setUint16(28, w.name.length, true);
      d.setUint16(30, w.extra.length, true);
      d.setUint32(38, w.externalAttrs, true);
      d.setUint32(42, w.offset, true);
      await this.#write(new Uint8Array(d.buffer));
      await this.#write(w.name);
      await this.#write(w.extra);
    }
    const size = this.#offset - start;
    const d = new DataView(new ArrayBuffer(22));
    d.setUint32(0, 0x06054b50, true);
    d.setUint16(8, this.#entries.length, true);
    d.setUint16(10, this.#entries.length, true);
    d.setUint32(12, size, true);
    d.setUint32(16, start, true);
    await this.#write(new Uint8Array(d.buffer));
  }
}

function localHeader(w: Written, time: number, date: number): Uint8Array {
  const d = new DataView(new ArrayBuffer(30 + w.name.length + w.extra.length));
  d.setUint32(0, 0x04034b50, true);
  d.setUint16(4, 20, true);
  d.setUint16(6, w.flags, true);
  d.setUint16(8, w.method, true);
  d.setUint16(10, time, true);
  d.setUint16(12, date, true);
  if (!(w.flags & 0x0008)) {
    d.setUint32(14, w.crc, true);
    d.setUint32(18, w.csize, true);
    d.setUint32(22, w.usize, true);
  }
  d.setUint16(26, w.name.length, true);
  d.setUint16(28, w.extra.length, true);
  const b = new Uint8Array(d.buffer);
  b.set(w.name, 30);
  b.set(w.extra, 30 + w.name.length);
  return b;
}

/** "UT" (mtime in whole seconds) and "ux" (uid, gid) extra fields. */
function extraFields(e: ZipEntry): Uint8Array {
  const d = new DataView(new ArrayBuffer(9 + 15));
  d.setUint16(0, 0x5455, true);
  d.setUint16(2, 5, true);
  d.setUint8(4, 1); // mtime present
  d.setUint32(5, Math.max(0, Math.min(LIMIT, Math.floor(e.mtime.getTime() / 1000))), true);
  d.setUint16(9, 0x7875, true);
  d.setUint16(11, 11, true);
  d.setUint8(13, 1); // version
  d.setUint8(14, 4);
  d.setUint32(15, e.uid >>> 0, true);
  d.setUint8(19, 4);
  d.setUint32(20, e.gid >>> 0, true);
  return new Uint8Array(d.buffer);
}

/** MS-DOS time and date (local time, two-second steps, 1980 to 2107). */
function dosTime(t: Date): [number, number] {
  const y = Math.min(Math.max(t.getFullYear(), 1980), 2107);
  const time = (t.getHours() << 11) | (t.getMinutes() << 5) | (t.getSeconds() >> 1);
  const date = ((y - 1980) << 9) | ((t.getMonth() + 1) << 5) | t.getDate();
  return [time, date];
}
