/**
 * Adopting packs an interrupted backup stored but never indexed, so that
 * its rerun reuses them instead of storing everything again.
 *
 * A pack is saved whole or not at all (a temporary name, then a rename; one
 * PUT), so a pack in `data/` that no index lists is complete: a killed
 * backup's packs after its last index file, or a backup's still running on
 * another host. A backup that holds its shared lock adopts such packs when
 * they are younger than {@link ADOPT_MAX_AGE_MS}, each only after reading it
 * whole: its name must be the SHA-256 of its bytes, its trailer must
 * authenticate, and every blob it lists must decrypt and hash to its id.
 * Adopted packs get one index file of their own before any blob in them is
 * reused, so a kill right after adopting loses nothing either.
 *
 * Why prune never deletes an adopted pack (docs/PRUNE.md rule 12): the backup adopts
 * only after writing its shared lock and then finding no live exclusive
 * lock; prune writes its exclusive lock before it lists the locks. So either
 * the backup sees the prune's lock and adopts nothing, or the prune sees the
 * backup's lock, and while a shared lock is live prune deletes no unindexed
 * pack younger than {@link ADOPT_PROTECT_MS}. Packs a prune dropped are never
 * adopted: it may delete them.
 *
 * @module
 */
import { CorruptError } from "./format.ts";
import { sha256, toHex } from "../crypto/mod.ts";
import { forEachBlob } from "./blob_codec.ts";
import type { Backend } from "../backend/mod.ts";
import type { MasterKey } from "../crypto/mod.ts";
import { mapLimit, type MasterIndex, type PackEntry, saveIndexFile } from "./index.ts";
import { isStaleLock, listLocks } from "./lock.ts";
import { packKey, readPackTrailer } from "./pack.ts";

/** What adopting needs of a repository. `Repository` is one. */
export interface AdoptRepo {
  readonly backend: Backend;
  readonly master: Pick<MasterKey, "enc" | "id">;
  readonly index: Pick<MasterIndex, "packs" | "droppedPacks" | "addPack">;
}

/** Unindexed packs older than this (by the storage's clock) are left to prune. */
export const ADOPT_MAX_AGE_MS = 24 * 3_600_000;

/**
 * While a shared lock is live, prune keeps unindexed packs younger than
 * this: twice the adoption bound, so that clocks a day apart still agree.
 */
export const ADOPT_PROTECT_MS = 2 * ADOPT_MAX_AGE_MS;

export interface AdoptOptions {
  /** The storage's time now (ms), e.g. the mtime of the caller's fresh lock file. */
  now: number;
  maxAgeMs?: number;
  signal?: AbortSignal;
  /** Told of each pack that does not verify (it is left to prune). */
  onWarning?: (message: string) => void;
}

export interface AdoptResult {
  /** Packs adopted, now indexed. */
  packs: number;
  blobs: number;
  bytes: number;
  /** The index file written for them, if any. */
  indexFile?: string;
  /** Why nothing was looked at, if so (a prune holds the exclusive lock). */
  skipped?: string;
}

/**
 * Indexes every complete, verified pack in storage that no index lists and
 * no prune dropped, younger than `maxAgeMs`. The caller must hold a shared
 * lock (see the module doc); `repo.index` gains the adopted packs.
 */
export async function adoptPacks(repo: AdoptRepo, opts: AdoptOptions): Promise<AdoptResult> {
  const { signal } = opts;
  const result: AdoptResult = { packs: 0, blobs: 0, bytes: 0 };
  const maxAge = opts.maxAgeMs ?? ADOPT_MAX_AGE_MS;
  const known = new Set([...repo.index.packs()].map((p) => p.name));
  for (const name of repo.index.droppedPacks()) known.add(name);
  // The data files are listed while the locks are: on object storage each
  // listing is a round trip or more, paid by every backup before its walk.
  // Both start after this run's lock was written, which is all the rule
  // above needs; a prune's lock found drops the listing.
  const stop = new AbortController();
  const listSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  const listing = (async () => {
    const found: { name: string; size: number }[] = [];
    for await (const f of repo.backend.list("data", { signal: listSignal })) {
      if (known.has(f.name) || f.mtimeMs === undefined) continue;
      if (f.mtimeMs < opts.now - maxAge) continue;
      found.push({ name: f.name, size: f.size });
    }
    return found;
  })();
  listing.catch(() => {}); // awaited below, or dropped
  let prune;
  try {
    prune = (await listLocks(repo, { signal })).find((l) =>
      l.kind === "exclusive" && !isStaleLock(l, Date.now())
    );
  } catch (err) {
    stop.abort();
    throw err;
  }
  if (prune) {
    stop.abort();
    result.skipped = `a prune (pid ${prune.pid} on ${prune.host}) holds the exclusive lock`;
    return result;
  }
  const candidates = await listing;
  if (candidates.length === 0) return result;
  const adopted: (PackEntry & { size: number })[] = [];
  await mapLimit(candidates, 2, async ({ name, size }) => {
    signal?.throwIfAborted();
    try {
      adopted.push({ ...await verifyPack(repo, name, signal), size });
    } catch (err) {
      if (!(err instanceof CorruptError || err instanceof RangeError)) throw err;
      opts.onWarning?.(`pack data/${name} is in no index and was not reused: ${err.message}`);
    }
  });
  if (adopted.length === 0) return result;
  adopted.sort((a, b) => a.name < b.name ? -1 : 1);
  result.indexFile = await saveIndexFile(repo.backend, repo.master.enc, adopted);
  for (const p of adopted) {
    repo.index.addPack(p);
    result.packs++;
    result.blobs += p.blobs.length;
    result.bytes += p.size;
  }
  return result;
}

/** Reads pack `name` whole and checks its name, trailer and every blob; returns what it holds. */
async function verifyPack(
  repo: AdoptRepo,
  name: string,
  signal?: AbortSignal,
): Promise<PackEntry> {
  const { salt, blobs } = await readPackTrailer(repo.backend, repo.master.enc, name);
  const bytes = await repo.backend.load("data", name, undefined, { signal });
  if (toHex(sha256(bytes)) !== name) {
    throw new CorruptError(`pack "${name}" is damaged: content does not match its name`);
  }
  if (blobs.length === 0) throw new CorruptError(`pack "${name}" lists no blobs`);
  let bad: Error | undefined;
  await forEachBlob(await packKey(repo.master.enc, salt), repo.master.id, bytes, blobs, (_, p) => {
    if (p instanceof Error) bad ??= p;
  });
  if (bad) throw new CorruptError(`pack "${name}" is damaged: ${bad.message}`, { cause: bad });
  return { name, salt, blobs };
}
