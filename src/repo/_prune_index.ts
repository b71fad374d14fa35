/**
 * The index as prune sees it: every live index file with its packs whole,
 * plus the packs earlier prunes dropped from the index but have not deleted
 * yet ("dropped" entries, which only prune reads).
 */
import { fromBase64, toBase64 } from "../crypto/mod.ts";
import { CorruptError, isId } from "./format.ts";
import { mapLimit } from "./index.ts";
import { decodeBlobList, encodeBlobList, type PackedBlob } from "./pack.ts";
import type { Repository } from "./repository.ts";
import { loadSealedJson, saveSealedJson } from "./sealed_file.ts";

/** A pack with every blob it holds. */
export interface PackEntry {
  name: string;
  salt: Uint8Array;
  blobs: PackedBlob[];
}

/** A pack a prune took out of the index at `droppedAt` (ms), kept until the grace is over. */
export interface DroppedPack extends PackEntry {
  droppedAt: number;
}

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

interface PackJson {
  id: string;
  salt: string;
  blobs: unknown;
}

interface PruneIndexJson {
  v: 1;
  supersedes?: string[];
  packs: PackJson[];
  /** Ignored by `loadMasterIndex`: packs out of the index, awaiting deletion. */
  dropped?: (PackJson & { dropped_at: number })[];
}

/** Lists and reads every index file; throws on any that cannot be read. */
export async function loadIndexState(repo: Repository, signal?: AbortSignal): Promise<IndexState> {
  const names: string[] = [];
  for await (const f of repo.backend.list("index", { signal })) names.push(f.name);
  const files = await mapLimit(names, 8, async (name) => {
    signal?.throwIfAborted();
    const json = await loadSealedJson(repo.backend, repo.master.enc, "index", name);
    return parseIndexJson(json, `index file "${name}"`);
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
  repo: Repository,
  packs: readonly PackEntry[],
  dropped: readonly DroppedPack[],
  supersedes: readonly string[],
): Promise<string> {
  const json: PruneIndexJson = { v: 1, packs: packs.map(packJson) };
  if (supersedes.length > 0) json.supersedes = [...supersedes];
  if (dropped.length > 0) {
    json.dropped = dropped.map((d) => ({ ...packJson(d), dropped_at: d.droppedAt }));
  }
  return saveSealedJson(repo.backend, repo.master.enc, "index", json);
}

function packJson(p: PackEntry): PackJson {
  return { id: p.name, salt: toBase64(p.salt), blobs: encodeBlobList(p.blobs) };
}

function parseIndexJson(raw: unknown, what: string) {
  const json = raw as PruneIndexJson;
  if (json?.v !== 1 || !Array.isArray(json.packs)) throw new CorruptError(`${what} is malformed`);
  const supersedes = json.supersedes ?? [];
  if (!Array.isArray(supersedes) || !supersedes.every(isId)) {
    throw new CorruptError(`${what} has a malformed supersedes list`);
  }
  const dropped = json.dropped ?? [];
  if (!Array.isArray(dropped)) throw new CorruptError(`${what} has a malformed dropped list`);
  return {
    supersedes,
    packs: json.packs.map((p) => parsePack(p, what)),
    dropped: dropped.map((d): DroppedPack => {
      if (!Number.isSafeInteger(d?.dropped_at)) {
        throw new CorruptError(`${what} has a malformed dropped entry`);
      }
      return { ...parsePack(d, what), droppedAt: d.dropped_at };
    }),
  };
}

function parsePack(p: PackJson, what: string): PackEntry {
  if (!isId(p?.id) || typeof p.salt !== "string") {
    throw new CorruptError(`${what} has a malformed pack entry`);
  }
  return { name: p.id, salt: fromBase64(p.salt), blobs: decodeBlobList(p.blobs, what) };
}
