/**
 * A snapshot file as an HTTP response: streamed blob by blob (a 4 GiB file
 * holds a few blobs of memory), with a single `Range` honoured by starting
 * at the blob that holds its first byte.
 */
import { type ContentSource, CorruptError, fileContent, type Node, nsToDate } from "../repo/mod.ts";

/** What a file download needs: blobs and their lengths (the index knows them). */
export interface FileSource extends ContentSource {
  blobLength(id: string): number | undefined;
}

/** A byte range, both ends included. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The one range a `Range` header asks of `size` bytes: undefined when there
 * is none (or several, or another unit: the whole file is sent, as RFC 9110
 * allows), "unsatisfiable" when it lies past the end.
 */
export function parseRange(
  header: string | null,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (header === null) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

/**
 * Bytes `start..end` of a file whose content is `ids`, blob by blob. Blobs
 * before the range are not loaded when the index knows their lengths. A
 * blob that cannot be read ends the stream with its error (the download is
 * cut short rather than padded).
 */
export async function* contentRange(
  repo: FileSource,
  ids: readonly string[],
  range: ByteRange,
  signal?: AbortSignal,
): AsyncGenerator<Uint8Array> {
  let first = 0;
  let offset = 0; // where blob `first` starts
  while (first < ids.length) {
    const n = repo.blobLength(ids[first]);
    if (n === undefined || offset + n > range.start) break;
    offset += n;
    first++;
  }
  let pos = offset;
  for await (const blob of fileContent(repo, ids.slice(first), { signal })) {
    const from = Math.max(0, range.start - pos);
    const to = Math.min(blob.length, range.end + 1 - pos);
    if (to > from) yield blob.subarray(from, to);
    pos += blob.length;
    if (pos > range.end) return;
  }
  if (pos <= range.end) {
    throw new CorruptError(`content ends at byte ${pos}, before ${range.end + 1}`);
  }
}

/** The ETag of a file node: its content ids decide its bytes. */
export async function fileETag(node: Node): Promise<string> {
  const text = (node.content ?? []).join(",") + `:${node.size ?? 0}`;
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)),
  );
  return `"${Array.from(hash.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

/** `content-disposition: attachment` for `name`, safe whatever the name holds. */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\;%]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * The response for GET (or HEAD) of file `node`: 200 with the whole file,
 * 206 with the range asked for, or 416. `headers` are added (security
 * headers, a content-disposition).
 */
export async function fileResponse(
  repo: FileSource,
  node: Node,
  req: Request,
  headers: Record<string, string> = {},
): Promise<Response> {
  const size = node.size ?? 0;
  const etag = await fileETag(node);
  const base: Record<string, string> = {
    ...headers,
    "accept-ranges": "bytes",
    etag,
    "last-modified": nsToDate(node.mtime).toUTCString(),
    "content-type": headers["content-type"] ?? "application/octet-stream",
  };
  const ifRange = req.headers.get("if-range");
  const range = ifRange === null || ifRange === etag
    ? parseRange(req.headers.get("range"), size)
    : undefined;
  if (range === "unsatisfiable") {
    return new Response(null, {
      status: 416,
      headers: { ...base, "content-range": `bytes */${size}` },
    });
  }
  const r = range ?? { start: 0, end: size - 1 };
  const length = size === 0 ? 0 : r.end - r.start + 1;
  const out: Record<string, string> = { ...base, "content-length": String(length) };
  if (range) out["content-range"] = `bytes ${r.start}-${r.end}/${size}`;
  const status = range ? 206 : 200;
  if (req.method === "HEAD" || length === 0) return new Response(null, { status, headers: out });
  return new Response(toStream(contentRange(repo, node.content ?? [], r, req.signal)), {
    status,
    headers: out,
  });
}

/** An async iterable of byte chunks as a stream that pulls one chunk at a time. */
export function toStream(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = chunks[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const { done, value } = await it.next();
      if (done) c.close();
      else c.enqueue(value);
    },
    async cancel() {
      await it.return?.(undefined);
    },
  }, { highWaterMark: 0 });
}
