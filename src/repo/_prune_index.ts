/**
 * The index as prune sees it: every live index file with its packs whole,
 * plus the packs earlier prunes dropped from the index but have not deleted
 * yet ("dropped" entries: readers can still load their blobs, rule 3 of
 * docs/PRUNE.md; prune deletes or reindexes them, and a backup that needs
 * one reindexes it itself, rules 2, 7 and 8).
 */
import {
  type DroppedPack,
  loadIndexFile,
  mapLimit,
  type PackEntry,
  saveIndexFile,
} from "./index.ts";
import type { LockRepo } from "./lock.ts";

export type { DroppedPack, PackEntry };

export interface IndexState {
  /** Index files in use (not superseded). */
  live: string[];
  /** Index files still present though a newer file supersedes them. */
  superseded: string[];
  /** Every pack the live files list, by name. */
  packs: Map<string, PackEntry>;
  /** Packs the live files record as dropped and not live again. */
  dropped: Map<string, DroppedPack>;
}

/** What reading and writing index files needs: storage and the key (as for locks). */
export type IndexFilesRepo = LockRepo;

/** Lists and reads every index file; throws on any that cannot be read. */
export async function loadIndexState(
  repo: IndexFilesRepo,
  signal?: AbortSignal,
): Promise<IndexState> {
  const names: string[] = [];
  for await (const f of repo.backend.list("index", { signal })) names.push(f.name);
  const files = await mapLimit(names, 8, (name) => {
    signal?.throwIfAborted();
    return loadIndexFile(repo.backend, repo.master.enc, name);
  });
  const supersededNames = new Set(files.flatMap((f) => f.supersedes));
  const state: IndexState = { live: [], superseded: [], packs: new Map(), dropped: new Map() };
  files.forEach((f, i) => {
    if (supersededNames.has(names[i])) {
      state.superseded.push(names[i]);
      return;
    }
    state.live.push(names[i]);
    for (const p of f.packs) if (!state.packs.has(p.name)) state.packs.set(p.name, p);
  });
  files.forEach((f, i) => {
    if (supersededNames.has(names[i])) return;
    for (const d of f.dropped) {
      if (state.packs.has(d.name)) continue; // indexed again since (e.g. by a backup)
      const seen = state.dropped.get(d.name);
      if (!seen || d.droppedAt > seen.droppedAt) state.dropped.set(d.name, d);
    }
  });
  return state;
}

/**
 * Writes prune's single new index file: `packs` live, `dropped` recorded for
 * a later prune, superseding `supersedes` (one file, so the switch is atomic).
 */
export function savePruneIndex(
  repo: IndexFilesRepo,
  packs: readonly PackEntry[],
  dropped: readonly DroppedPack[],
  supersedes: readonly string[],
): Promise<string> {
  return saveIndexFile(repo.backend, repo.master.enc, packs, supersedes, dropped);
}
