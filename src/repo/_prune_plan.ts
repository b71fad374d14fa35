/**
 * Prune's decisions, made from listings alone before anything is written:
 * which packs stay, which are repacked, which leave the index, which are
 * deleted, and which come back into the index (docs/PRUNE.md, "The rules").
 */
import type { FileStat } from "../backend/mod.ts";
import type { PackedBlob } from "./pack.ts";
import type { DroppedPack, IndexState, PackEntry } from "./_prune_index.ts";

export interface PlanInput {
  state: IndexState;
  /** Every pack file in storage, by name. */
  data: Map<string, FileStat>;
  /** Blob ids the snapshots reference. */
  used: Set<string>;
  /** Trailers of unindexed packs that were read, by name. */
  trailers: Map<string, PackEntry>;
  now: number;
  /** Live packs written after this (ms) are left alone. */
  freshAfter: number;
  /** Drops up to this time (ms) are old enough to delete; unindexed packs up to it too. */
  deleteBefore: number;
  /** May packs leave the index in this run? */
  allowDrops: boolean;
  /**
   * Unindexed packs modified after this (ms) are never deleted: while a
   * backup holds a shared lock it may adopt them (adopt_packs.ts, rule 12).
   */
  unindexedKeptAfter?: number;
  maxUnusedFraction: number;
}

export interface PrunePlan {
  /** Live packs that stay in the index as they are. */
  keep: PackEntry[];
  /** Dropped or unindexed packs that hold referenced blobs found nowhere else. */
  reindex: PackEntry[];
  /** Live packs whose used blobs are copied into new packs. */
  repack: { pack: PackEntry; blobs: PackedBlob[] }[];
  /** Live packs leaving the index now (unused or repacked). */
  drop: PackEntry[];
  /** Earlier drops (or unindexed packs) to record again and delete later. */
  carry: DroppedPack[];
  /** Pack files to delete once the new index is written. */
  remove: { name: string; size: number; unindexed: boolean }[];
  /** Index files that listed packs which are gone from storage (none referenced). */
  missingPacks: string[];
  /** Referenced blobs found in no pack at all. */
  missingBlobs: string[];
  duplicateBlobs: number;
  unusedBlobs: number;
  blobsRemoved: number;
}

/** Decides what prune does, by rules 2, 4, 6 and 7 of docs/PRUNE.md (why each is safe: there). */
export function planPrune(inp: PlanInput): PrunePlan {
  const { state, data, used } = inp;
  const plan: PrunePlan = {
    keep: [],
    reindex: [],
    repack: [],
    drop: [],
    carry: [],
    remove: [],
    missingPacks: [],
    missingBlobs: [],
    duplicateBlobs: 0,
    unusedBlobs: 0,
    blobsRemoved: 0,
  };
  // One copy of each referenced blob: the first live pack holding it.
  const home = new Map<string, string>();
  const liveIds = new Set<string>();
  for (const p of state.packs.values()) {
    for (const b of p.blobs) liveIds.add(b.id);
    if (!data.has(p.name)) continue;
    for (const b of p.blobs) {
      if (!used.has(b.id)) continue;
      if (home.has(b.id)) plan.duplicateBlobs++;
      else home.set(b.id, p.name);
    }
  }
  for (const id of liveIds) if (!used.has(id)) plan.unusedBlobs++;

  // Referenced blobs no live pack holds: take their packs back into the index.
  const reindexed = new Set<string>();
  const adopt = (p: PackEntry) => {
    reindexed.add(p.name);
    plan.reindex.push({ name: p.name, salt: p.salt, blobs: p.blobs });
    for (const b of p.blobs) if (used.has(b.id) && !home.has(b.id)) home.set(b.id, p.name);
  };
  const spare = new Map<string, PackEntry>();
  for (const p of [...state.dropped.values(), ...inp.trailers.values()]) {
    if (!data.has(p.name)) continue;
    for (const b of p.blobs) if (!spare.has(b.id)) spare.set(b.id, p);
  }
  for (const id of used) {
    if (home.has(id)) continue;
    const p = spare.get(id);
    if (p) adopt(p);
    else plan.missingBlobs.push(id);
  }

  const keptIds = new Set<string>();
  for (const p of state.packs.values()) {
    const stat = data.get(p.name);
    if (!stat) {
      plan.missingPacks.push(p.name);
      continue;
    }
    const mine = new Map<string, PackedBlob>();
    let total = 0;
    let usedBytes = 0;
    // Plaintext bytes: blobs of one segment share its sealed length.
    for (const b of p.blobs) {
      total += b.rawLength;
      if (home.get(b.id) === p.name && !mine.has(b.id)) {
        mine.set(b.id, b);
        usedBytes += b.rawLength;
      }
    }
    const fresh = stat.mtimeMs !== undefined && stat.mtimeMs > inp.freshAfter;
    const unused = total === 0 ? 1 : (total - usedBytes) / total;
    if (!inp.allowDrops || fresh || (mine.size > 0 && unused <= inp.maxUnusedFraction)) {
      plan.keep.push(p);
      for (const b of p.blobs) keptIds.add(b.id);
      continue;
    }
    if (mine.size > 0) plan.repack.push({ pack: p, blobs: [...mine.values()] });
    plan.drop.push(p);
  }
  for (const p of plan.reindex) for (const b of p.blobs) keptIds.add(b.id);
  for (const r of plan.repack) for (const b of r.blobs) keptIds.add(b.id);
  for (const id of liveIds) if (!keptIds.has(id)) plan.blobsRemoved++;

  const dueNow = inp.now <= inp.deleteBefore;
  for (const p of plan.drop) {
    if (dueNow) plan.remove.push({ name: p.name, size: data.get(p.name)!.size, unindexed: false });
  }
  for (const d of state.dropped.values()) {
    if (reindexed.has(d.name) || !data.has(d.name)) continue;
    if (d.droppedAt <= inp.deleteBefore) {
      plan.remove.push({ name: d.name, size: data.get(d.name)!.size, unindexed: false });
    } else plan.carry.push(d);
  }
  for (const [name, stat] of data) {
    if (state.packs.has(name) || state.dropped.has(name) || reindexed.has(name)) continue;
    if (stat.mtimeMs !== undefined) {
      const adoptable = stat.mtimeMs > (inp.unindexedKeptAfter ?? Infinity);
      if (stat.mtimeMs <= inp.deleteBefore && !adoptable) {
        plan.remove.push({ name, size: stat.size, unindexed: true });
      }
      continue;
    }
    // No mtime: start the grace period now, as for a dropped pack.
    const t = inp.trailers.get(name);
    if (dueNow) plan.remove.push({ name, size: stat.size, unindexed: true });
    else if (t) plan.carry.push({ ...t, droppedAt: inp.now });
  }
  return plan;
}
