import type { Repository } from "../repo/mod.ts";

/** How many blobs {@link fileContent} fetches ahead of the one being consumed. */
export const DEFAULT_PREFETCH = 4;

export interface FileContentOptions {
  /** Blobs fetched ahead of the consumer (default {@link DEFAULT_PREFETCH}). */
  prefetch?: number;
  signal?: AbortSignal;
  /**
   * Called for a blob that cannot be loaded; what it returns is yielded in
   * its place and the content goes on. Without it the failure is thrown.
   */
  onDamaged?: (id: string, err: unknown) => Uint8Array;
}

/**
 * The content of a file, blob by blob and in order, with a few blobs fetched
 * and verified ahead of the consumer. At most `prefetch + 1` blobs are held at
 * once, so memory stays bounded for a file of any size.
 */
export async function* fileContent(
  repo: Repository,
  content: readonly string[],
  opts: FileContentOptions = {},
): AsyncGenerator<Uint8Array> {
  const ahead = Math.max(1, opts.prefetch ?? DEFAULT_PREFETCH);
  const queue: Promise<Uint8Array>[] = [];
  let next = 0;
  const fill = () => {
    while (queue.length < ahead && next < content.length) {
      const id = content[next++];
      const onDamaged = opts.onDamaged;
      const p = onDamaged
        ? repo.loadBlob("data", id).catch((err) => {
          if (opts.signal?.aborted) throw err;
          return onDamaged(id, err);
        })
        : repo.loadBlob("data", id);
      // Failures surface when the blob's turn comes; until then (or if the
      // consumer stops early) they must not count as unhandled.
      p.catch(() => {});
      queue.push(p);
    }
  };
  fill();
  while (queue.length > 0) {
    opts.signal?.throwIfAborted();
    const blob = await queue.shift()!;
    fill();
    yield blob;
  }
}
