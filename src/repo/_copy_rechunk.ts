/**
 * Copying between repositories whose blob ids differ (each repository keys
 * its ids with its own secret, and its chunker's gear table with another):
 * every file's content is read from the source, cut again by the
 * destination's chunker and hashed with the destination's id key, and every
 * tree is rewritten with the new ids. So a copy deduplicates with what the
 * destination already holds, as a backup into it would.
 *
 * @module
 */
import { Chunker, gearTable } from "../chunker/mod.ts";
import { concatBytes } from "../fs/mod.ts";
import { keyedId, toHex } from "../crypto/mod.ts";
import { fileContent } from "./file_content.ts";
import { mapLimit } from "./index.ts";
import type { CopyDestination, CopySink, CopySource } from "./copy_repos.ts";
import { encodeTree, type Node, type Tree } from "./tree.ts";

/** Files re-chunked at once: each holds a few source blobs and one chunk in memory. */
const FILES_AT_ONCE = 4;

/** Source contents remembered with their new ids, so a file in many snapshots is cut once. */
const MAX_REMEMBERED_CONTENTS = 200_000;

/** Rewrites source trees into the destination's ids, re-chunking file contents. */
export class Rechunker {
  /** Source tree id → destination tree id, for trees already rewritten in this run. */
  readonly #trees = new Map<string, string>();
  /** Source content (ids joined) → destination content. */
  readonly #contents = new Map<string, string[]>();
  readonly #table: Uint32Array;

  constructor(
    private readonly src: CopySource,
    private readonly dst: CopyDestination,
    private readonly sink: CopySink,
    private readonly signal?: AbortSignal,
  ) {
    this.#table = gearTable(dst.master.chunker);
  }

  /** The destination's id of source tree `id`, every blob under it stored. */
  async tree(id: string): Promise<string> {
    const known = this.#trees.get(id);
    if (known) return known;
    this.signal?.throwIfAborted();
    const tree = await this.src.loadTree(id);
    const nodes: Node[] = new Array(tree.nodes.length);
    // Directories one after another (their files run FILES_AT_ONCE at a
    // time inside), files of this directory FILES_AT_ONCE at a time.
    const files: number[] = [];
    for (let i = 0; i < tree.nodes.length; i++) {
      const node = tree.nodes[i];
      if (node.type === "dir" && node.subtree) {
        nodes[i] = { ...node, subtree: await this.tree(node.subtree) };
      } else if (node.content && node.content.length > 0) files.push(i);
      else nodes[i] = node;
    }
    await mapLimit(files, FILES_AT_ONCE, async (i) => {
      const node = tree.nodes[i];
      nodes[i] = { ...node, content: await this.#content(node.content!, node.size) };
    });
    const out = this.#store({ nodes });
    this.#trees.set(id, out);
    return out;
  }

  async #content(content: string[], size: number | undefined): Promise<string[]> {
    const key = content.join("");
    const known = this.#contents.get(key);
    if (known) return known;
    const chunker = new Chunker(this.#table, this.dst.config.chunker);
    const ids: string[] = [];
    let parts: Uint8Array[] = [];
    const emit = (last: Uint8Array) => {
      parts.push(last);
      const chunk = parts.length === 1 ? parts[0] : concatBytes(parts);
      parts = [];
      const id = toHex(keyedId(this.dst.master.id, chunk));
      ids.push(id);
      this.sink.add("data", id, chunk);
    };
    for await (
      const blob of fileContent(this.src, content, { size, signal: this.signal })
    ) {
      this.sink.read(blob.length);
      let pos = 0;
      for (let cut; (cut = chunker.next(blob, pos)) !== -1; pos = cut) {
        emit(blob.subarray(pos, cut));
      }
      if (pos < blob.length) parts.push(blob.subarray(pos));
      await this.sink.pace();
    }
    if (parts.length > 0) emit(parts.pop()!);
    if (this.#contents.size >= MAX_REMEMBERED_CONTENTS) this.#contents.clear();
    this.#contents.set(key, ids);
    return ids;
  }

  #store(tree: Tree): string {
    const bytes = encodeTree(tree);
    const id = toHex(keyedId(this.dst.master.id, bytes));
    this.sink.add("tree", id, bytes);
    return id;
  }
}
