/**
 * Copying between repositories that share their blob ids (one was made with
 * `cairn init --copy-chunker-params` from the other): trees are copied as
 * they are, and each data blob the destination lacks is read once from the
 * source, segment by segment in pack order, and stored again under the
 * destination's keys.
 *
 * @module
 */
import { extractBlob, openSegmentPayload, type SegmentMember } from "./blob_codec.ts";
import { type IndexEntry, mapLimit } from "./index.ts";
import { packKey } from "./pack.ts";
import { decodeTree } from "./tree.ts";
import type { CopyDestination, CopySink, CopySource } from "./copy_repos.ts";

/** Source segments closer than this are read in one request (the gap is read and thrown away). */
const MERGE_GAP = 64 * 1024;
/** The most one read of a source pack asks for. */
const MAX_SPAN = 8 * 1024 * 1024;
/** Trees loaded at once while walking. */
const TREES_AT_ONCE = 8;
/** Source reads in flight. */
const READS_AT_ONCE = 2;

/** One source segment and the blobs wanted from it. */
interface Segment {
  offset: number;
  length: number;
  type: "data" | "tree";
  members: (IndexEntry & { id: string })[];
}

/** Copies what snapshots need blob for blob, keeping their ids. */
export class BlobCopier {
  /** Trees walked and data blobs taken care of in this run. */
  readonly #seen = new Set<string>();

  constructor(
    private readonly src: CopySource,
    private readonly dst: CopyDestination,
    private readonly sink: CopySink,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Copies tree `root` and everything under it that the destination lacks;
   * `onPlanned` learns how many bytes of data blobs that is, once known.
   */
  async copy(root: string, onPlanned?: (bytes: number) => void): Promise<void> {
    const wanted: string[] = [];
    let level = [root];
    while (level.length > 0) {
      this.signal?.throwIfAborted();
      const fresh = level.filter((id) => !this.#seen.has(id));
      for (const id of fresh) this.#seen.add(id);
      const next: string[] = [];
      await mapLimit(fresh, TREES_AT_ONCE, async (id) => {
        const bytes = await this.src.loadBlob("tree", id);
        const tree = decodeTree(bytes, id);
        this.sink.add("tree", id, bytes);
        for (const node of tree.nodes) {
          if (node.subtree) next.push(node.subtree);
          for (const blob of node.content ?? []) {
            if (this.#seen.has(blob)) continue;
            this.#seen.add(blob);
            if (!this.dst.index.has(blob)) wanted.push(blob);
          }
        }
      });
      level = next;
    }
    const entries = await mapLimit(
      wanted,
      16,
      async (id) => ({ ...await this.src.locateBlob("data", id), id }),
    );
    onPlanned?.(entries.reduce((n, e) => n + e.rawLength, 0));
    await this.#copyEntries(entries);
  }

  async #copyEntries(entries: (IndexEntry & { id: string })[]): Promise<void> {
    const byPack = new Map<string, Map<number, Segment>>();
    const salts = new Map<string, Uint8Array>();
    for (const e of entries) {
      let segments = byPack.get(e.pack.name);
      if (!segments) {
        byPack.set(e.pack.name, segments = new Map());
        salts.set(e.pack.name, e.pack.salt);
      }
      const seg = segments.get(e.offset);
      if (seg) seg.members.push(e);
      else {segments.set(e.offset, {
          offset: e.offset,
          length: e.length,
          type: e.type,
          members: [e],
        });}
    }
    const spans: { pack: string; segments: Segment[] }[] = [];
    for (const [pack, segments] of byPack) {
      const sorted = [...segments.values()].sort((a, b) => a.offset - b.offset);
      let span: Segment[] = [];
      for (const s of sorted) {
        const start = span[0]?.offset ?? s.offset;
        const last = span[span.length - 1];
        const end = last ? last.offset + last.length : s.offset;
        if (
          span.length > 0 && (s.offset - end > MERGE_GAP || s.offset + s.length - start > MAX_SPAN)
        ) {
          spans.push({ pack, segments: span });
          span = [];
        }
        span.push(s);
      }
      if (span.length > 0) spans.push({ pack, segments: span });
    }
    const keys = new Map<string, Promise<CryptoKey>>();
    await mapLimit(spans, READS_AT_ONCE, async ({ pack, segments }) => {
      this.signal?.throwIfAborted();
      const start = segments[0].offset;
      const last = segments[segments.length - 1];
      const bytes = await this.src.backend.load("data", pack, {
        offset: start,
        length: last.offset + last.length - start,
      }, { signal: this.signal });
      let key = keys.get(pack);
      if (!key) {
        if (keys.size > 1024) keys.clear();
        keys.set(pack, key = packKey(this.src.master.enc, salts.get(pack)!));
      }
      for (const s of segments) {
        const sealed = bytes.subarray(s.offset - start, s.offset - start + s.length);
        const what = `${s.type} blob ${s.members[0].id}`;
        const { payload, plain } = await openSegmentPayload(
          await key,
          s.type,
          s.offset,
          sealed,
          what,
        );
        const blobs = s.members.map((m) => extractBlob(this.src.master.id, plain, m));
        this.sink.read(plain.length);
        // A segment wanted whole is stored as it is: not compressed again.
        const members = wholeSegment(s, plain.length);
        if (members && this.sink.addSegment(s.type, members, payload)) continue;
        s.members.forEach((m, i) => this.sink.add(m.type, m.id, blobs[i]));
      }
      await this.sink.pace();
    });
  }
}

/**
 * The members of `s` as the destination's segment lists them, when the
 * blobs wanted from it are the whole of its plaintext (each once, back to
 * back); undefined when the copy takes only some of it.
 */
function wholeSegment(s: Segment, plainLength: number): SegmentMember[] | undefined {
  const sorted = [...s.members].sort((a, b) => a.at - b.at);
  let at = 0;
  const ids = new Set<string>();
  for (const m of sorted) {
    if (m.at !== at || ids.has(m.id)) return undefined;
    ids.add(m.id);
    at += m.rawLength;
  }
  if (at !== plainLength) return undefined;
  return sorted.map((m) => ({ type: m.type, id: m.id, at: m.at, rawLength: m.rawLength }));
}
