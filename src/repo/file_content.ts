import { CorruptError } from "./format.ts";

/** How many blobs {@link fileContent} fetches ahead of the one being consumed. */
export const DEFAULT_PREFETCH = 4;

/**
 * Bytes of distinct blobs {@link fileContent} holds ahead of the consumer.
 * Four average chunks (1 MiB) fit; four 8 MiB ones do not, and a restore
 * runs eight files at once.
 */
export const DEFAULT_PREFETCH_BYTES = 8 * 1024 * 1024;

/** What {@link fileContent} needs from a repository. */
export interface ContentSource {
  loadBlob(type: "data", id: string): Promise<Uint8Array>;
  /** The plaintext length the index records for a blob, if it knows the blob. */
  blobLength?(id: string): number | undefined;
}

/** Live counters of one {@link fileContent}, for tests and diagnostics. */
export interface ContentStats {
  /** Blob loads started. */
  loads: number;
  /** Bytes of the distinct blobs held now (fetched ahead, or yielded and not yet let go). */
  bytesHeld: number;
  maxBytesHeld: number;
}

export interface FileContentOptions {
  /** Blobs fetched ahead of the consumer (default {@link DEFAULT_PREFETCH}). */
  prefetch?: number;
  /** Bytes fetched ahead (default {@link DEFAULT_PREFETCH_BYTES}); one blob always is. */
  prefetchBytes?: number;
  /**
   * The size the file's node records. Content whose blobs add up to another
   * size is a CorruptError: before the first blob when the index knows
   * every blob's length, else as soon as the content runs past it (or at
   * the end, when it falls short).
   */
  size?: number;
  signal?: AbortSignal;
  stats?: ContentStats;
  /**
   * Called for a blob that cannot be loaded; what it returns is yielded in
   * its place and the content goes on. Without it the failure is thrown.
   */
  onDamaged?: (id: string, err: unknown) => Uint8Array;
}

interface Held {
  blob: Promise<Uint8Array>;
  length: number;
  /** Queue entries (and the blob just yielded) that refer to it. */
  refs: number;
}

/**
 * The content of a file, blob by blob and in order, with a few blobs fetched
 * and verified ahead of the consumer. What is held is bounded by count and
 * bytes, and a blob repeated within that window is loaded once and held
 * once: a file that is one large blob many times over costs one blob of
 * memory, not one per repetition.
 */
export async function* fileContent(
  repo: ContentSource,
  content: readonly string[],
  opts: FileContentOptions = {},
): AsyncGenerator<Uint8Array> {
  const ahead = Math.max(1, opts.prefetch ?? DEFAULT_PREFETCH);
  const maxBytes = opts.prefetchBytes ?? DEFAULT_PREFETCH_BYTES;
  const stats = opts.stats ?? { loads: 0, bytesHeld: 0, maxBytesHeld: 0 };
  const lengthOf = (id: string) => repo.blobLength?.(id);
  const mismatch = (what: string) =>
    new CorruptError(`content is ${what} bytes, but the snapshot says ${opts.size}`);
  if (opts.size !== undefined) {
    let total = 0;
    let known = true;
    for (const id of content) {
      const n = lengthOf(id);
      if (n === undefined) known = false;
      else total += n;
    }
    if (known && total !== opts.size) throw mismatch(String(total));
  }
  const held = new Map<string, Held>();
  const queue: string[] = [];
  let next = 0;
  const release = (id: string) => {
    const h = held.get(id)!;
    if (--h.refs > 0) return;
    held.delete(id);
    stats.bytesHeld -= h.length;
  };
  const fill = () => {
    while (queue.length < ahead && next < content.length) {
      const id = content[next];
      const h = held.get(id);
      if (h) h.refs++;
      else {
        const length = lengthOf(id) ?? 0;
        if (held.size > 0 && stats.bytesHeld + length > maxBytes) return;
        const onDamaged = opts.onDamaged;
        const blob = onDamaged
          ? repo.loadBlob("data", id).catch((err) => {
            if (opts.signal?.aborted) throw err;
            return onDamaged(id, err);
          })
          : repo.loadBlob("data", id);
        // Failures surface when the blob's turn comes; until then (or if the
        // consumer stops early) they must not count as unhandled.
        blob.catch(() => {});
        stats.loads++;
        held.set(id, { blob, length, refs: 1 });
        stats.bytesHeld += length;
        stats.maxBytesHeld = Math.max(stats.maxBytesHeld, stats.bytesHeld);
      }
      queue.push(id);
      next++;
    }
  };
  let written = 0;
  let current: string | undefined;
  try {
    fill();
    while (queue.length > 0) {
      opts.signal?.throwIfAborted();
      const id = current = queue.shift()!;
      const blob = await held.get(id)!.blob;
      written += blob.length;
      if (opts.size !== undefined && written > opts.size) throw mismatch(`at least ${written}`);
      fill(); // fetch on while the consumer works
      yield blob;
      // The consumer is done with this blob once it asks for the next.
      current = undefined;
      release(id);
      fill();
    }
  } finally {
    if (current !== undefined) release(current);
    for (const id of queue) release(id);
  }
  if (opts.size !== undefined && written !== opts.size) throw mismatch(String(written));
}
