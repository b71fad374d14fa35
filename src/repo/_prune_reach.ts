/**
 * Which blobs the snapshots reference: every tree reachable from a snapshot
 * root and every data blob those trees list.
 */
import { openBlob } from "./blob_codec.ts";
import { CorruptError } from "./format.ts";
import { mapLimit } from "./index.ts";
import { type PackedBlob, packKey } from "./pack.ts";
import type { PackEntry } from "./_prune_index.ts";
import type { Backend } from "../backend/mod.ts";
import type { MasterKey } from "../crypto/mod.ts";
import type { SnapshotWithId } from "./snapshot.ts";
import { decodeTree } from "./tree.ts";

/** What walking the trees needs: storage and the keys to open and check blobs. */
export interface ReachRepo {
  readonly backend: Backend;
  readonly master: Pick<MasterKey, "enc" | "id">;
}

/** Where a blob can be read from. */
export interface BlobPlace {
  pack: PackEntry;
  blob: PackedBlob;
}

/** Finds a blob anywhere prune knows of (live, dropped or unindexed packs). */
export type BlobLocator = (id: string) => Promise<BlobPlace | undefined>;

/** The referenced blob ids, and how many trees were read. */
export interface Reachable {
  blobs: Set<string>;
  trees: number;
}

/**
 * Walks every snapshot's trees (each tree once). Throws {@link CorruptError}
 * if a tree cannot be found or read: deciding what is unused from a partial
 * walk would delete data.
 */
export async function referencedBlobs(
  repo: ReachRepo,
  snapshots: readonly SnapshotWithId[],
  locate: BlobLocator,
  signal?: AbortSignal,
): Promise<Reachable> {
  const blobs = new Set<string>();
  let queue = [...new Set(snapshots.map((s) => s.tree))];
  for (const id of queue) blobs.add(id);
  let trees = 0;
  while (queue.length > 0) {
    const next: string[] = [];
    await mapLimit(queue, 8, async (id) => {
      signal?.throwIfAborted();
      const tree = decodeTree(await loadAnywhere(repo, locate, "tree", id), id);
      trees++;
      for (const n of tree.nodes) {
        for (const c of n.content ?? []) blobs.add(c);
        if (n.subtree && !blobs.has(n.subtree)) {
          blobs.add(n.subtree);
          next.push(n.subtree);
        }
      }
    });
    queue = next;
  }
  return { blobs, trees };
}

async function loadAnywhere(
  repo: ReachRepo,
  locate: BlobLocator,
  type: "tree",
  id: string,
): Promise<Uint8Array> {
  const place = await locate(id);
  if (!place) throw new CorruptError(`${type} blob ${id} is in no pack; run "cairn check"`);
  if (place.blob.type !== type) {
    throw new CorruptError(`blob ${id} is a ${place.blob.type} blob, not ${type}`);
  }
  const sealed = await repo.backend.load("data", place.pack.name, {
    offset: place.blob.offset,
    length: place.blob.length,
  });
  const key = await packKey(repo.master.enc, place.pack.salt);
  return await openBlob(key, repo.master.id, place.blob, sealed);
}
