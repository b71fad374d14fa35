/**
 * `cairn copy`: snapshots of one repository copied into another, storing
 * only the blobs the destination lacks, encrypted with its keys.
 *
 * Blob ids are keyed hashes (HMAC under each repository's id key) and chunk
 * boundaries come from a keyed gear table, so two repositories made
 * independently share no ids. When the destination was made with
 * `init --copy-chunker-params` from the source, both keys are the same:
 * blobs are copied as they are ({@link BlobCopier}). Otherwise every file is
 * cut again by the destination's chunker and every tree rewritten
 * ({@link Rechunker}), which reads all the content of each snapshot copied.
 *
 * A copy records the source snapshot's id (its `original`, or the original's
 * when the source is itself a copy) in the snapshot it writes, so a rerun
 * skips what is there. Each snapshot is written only after its packs are
 * indexed and {@link SnapshotGuard} found every blob it needs; packs a killed
 * copy wrote are adopted by the rerun ({@link adoptPacks}), so it does not
 * store them again.
 *
 * @module
 */
import { equalBytes } from "../crypto/mod.ts";
import { adoptPacks } from "./adopt_packs.ts";
import type { SegmentMember } from "./blob_codec.ts";
import type { BlobType } from "./format.ts";
import { saveIndexFile } from "./index.ts";
import { acquireSharedLock } from "./lock.ts";
import type { PackInfo, PackWriter } from "./pack.ts";
import type { SnapshotWithId } from "./snapshot.ts";
import { SnapshotGuard } from "./snapshot_guard.ts";
import { BlobCopier } from "./_copy_blobs.ts";
import { Rechunker } from "./_copy_rechunk.ts";
import type { CopyDestination, CopySink, CopySource } from "./copy_repos.ts";

export type { CopyDestination, CopySource } from "./copy_repos.ts";

/** Packs queued for writing before the copy waits for them. */
const MAX_BACKLOG = 2;

/** Where a copy stands, for progress lines. */
export interface CopyProgress {
  /** Snapshots dealt with (copied or skipped), and how many there are. */
  snapshotsDone: number;
  snapshotsTotal: number;
  /** Blobs and plaintext bytes stored in the destination so far. */
  blobs: number;
  bytes: number;
  /** Plaintext bytes read from the source so far. */
  bytesRead: number;
  /** 0-100, by snapshots and, when copying blobs as they are, bytes of the current one. */
  percent: number;
}

/** One source snapshot and what became of it. */
export interface CopiedSnapshot {
  /** The source snapshot's id. */
  source: string;
  /** The id the copy records as its original. */
  original: string;
  /** The new snapshot's id; absent when it was skipped. */
  id?: string;
  /** Already in the destination: nothing copied. */
  skipped?: true;
  blobs: number;
  bytes: number;
}

/** What a copy did; snake_case as `--json` prints it. */
export interface CopySummary {
  snapshots_copied: number;
  snapshots_skipped: number;
  blobs_copied: number;
  /** Plaintext bytes of the blobs stored (before compression). */
  bytes_copied: number;
  /** Plaintext bytes read from the source. */
  bytes_read: number;
  /** The repositories' blob ids differ: content was cut again and trees rewritten. */
  rechunked: boolean;
  /** Packs an interrupted copy (or backup) left unindexed, reused by this one. */
  packs_reused: number;
  duration_s: number;
  snapshots: CopiedSnapshot[];
}

export interface CopyOptions {
  signal?: AbortSignal;
  onProgress?: (p: CopyProgress) => void;
  /** Told of each snapshot once it is copied or skipped. */
  onSnapshot?: (s: CopiedSnapshot) => void;
  onWarning?: (message: string) => void;
}

/** What deciding how to copy looks at: the secrets and the chunk sizes. */
export type KeyedRepo = Pick<CopySource, "master" | "config">;

/** Do `src` and `dst` give the same content the same id (one made from the other's keys)? */
export function sameBlobIds(src: KeyedRepo, dst: KeyedRepo): boolean {
  return equalBytes(src.master.id, dst.master.id);
}

/** Do `src` and `dst` also cut content at the same places? */
export function sameChunking(src: KeyedRepo, dst: KeyedRepo): boolean {
  const a = src.config.chunker;
  const b = dst.config.chunker;
  return sameBlobIds(src, dst) && equalBytes(src.master.chunker, dst.master.chunker) &&
    a.min === b.min && a.avg === b.avg && a.max === b.max;
}

/**
 * Copies `snapshots` (of `src`, oldest first) into `dst`, skipping those
 * whose original is there already. Holds a shared lock on `dst` throughout;
 * the caller holds whatever lock reading `src` needs.
 */
export async function copySnapshots(
  src: CopySource,
  dst: CopyDestination,
  snapshots: readonly SnapshotWithId[],
  opts: CopyOptions = {},
): Promise<CopySummary> {
  const { signal } = opts;
  const started = performance.now();
  const lock = await acquireSharedLock(dst, { signal, onWarning: opts.onWarning });
  const packs: PackInfo[] = [];
  try {
    await dst.refreshIndex();
    dst.assertIndexWhole("a copy");
    const { mtimeMs } = await dst.backend.stat("locks", lock.name, { signal });
    const adopted = await adoptPacks(dst, {
      now: mtimeMs ?? Date.now(),
      signal,
      onWarning: opts.onWarning,
    });
    const guard = new SnapshotGuard(dst);
    const present = new Set<string>();
    for (const s of await dst.listSnapshots()) {
      present.add(s.id);
      if (s.original) present.add(s.original);
    }
    const rechunked = !sameBlobIds(src, dst);
    const summary: CopySummary = {
      snapshots_copied: 0,
      snapshots_skipped: 0,
      blobs_copied: 0,
      bytes_copied: 0,
      bytes_read: 0,
      rechunked,
      packs_reused: adopted.packs,
      duration_s: 0,
      snapshots: [],
    };
    const writer = dst.newPackWriter((p) => {
      dst.index.addPack(p);
      packs.push(p);
    });
    let planned = 0;
    let done = 0;
    let readBefore = 0;
    const report = () => {
      const part = planned > 0 ? Math.min(1, (summary.bytes_read - readBefore) / planned) : 0;
      opts.onProgress?.({
        snapshotsDone: done,
        snapshotsTotal: snapshots.length,
        blobs: summary.blobs_copied,
        bytes: summary.bytes_copied,
        bytesRead: summary.bytes_read,
        percent: snapshots.length === 0 ? 100 : (100 * (done + part)) / snapshots.length,
      });
    };
    const sink = newSink(dst, writer, summary, report);
    const copier = rechunked ? undefined : new BlobCopier(src, dst, sink, signal);
    const rechunker = rechunked ? new Rechunker(src, dst, sink, signal) : undefined;
    for (const s of snapshots) {
      signal?.throwIfAborted();
      const original = s.original ?? s.id;
      const before = { blobs: summary.blobs_copied, bytes: summary.bytes_copied };
      const entry: CopiedSnapshot = { source: s.id, original, blobs: 0, bytes: 0 };
      if (present.has(original) || present.has(s.id)) {
        entry.skipped = true;
        summary.snapshots_skipped++;
      } else {
        planned = 0;
        readBefore = summary.bytes_read;
        let root = s.tree;
        if (copier) await copier.copy(s.tree, (n) => planned = n);
        else root = await rechunker!.tree(s.tree);
        await writer.flush();
        if (packs.length > 0) await saveIndexFile(dst.backend, dst.master.enc, packs.splice(0));
        await guard.verify(root, signal);
        const { id: _, ...rest } = s;
        entry.id = await dst.saveSnapshot({ ...rest, tree: root, original });
        present.add(original);
        summary.snapshots_copied++;
        entry.blobs = summary.blobs_copied - before.blobs;
        entry.bytes = summary.bytes_copied - before.bytes;
      }
      done++;
      planned = 0;
      summary.snapshots.push(entry);
      opts.onSnapshot?.(entry);
      report();
    }
    summary.duration_s = (performance.now() - started) / 1000;
    return summary;
  } catch (err) {
    // Packs already written get an index file, so a rerun reuses them
    // without reading them whole (a kill leaves them to adoptPacks).
    if (packs.length > 0) {
      await saveIndexFile(dst.backend, dst.master.enc, packs.splice(0)).catch(() => {});
    }
    throw err;
  } finally {
    await lock.release();
  }
}

/** The sink both ways of copying store through, counting what they store. */
function newSink(
  dst: CopyDestination,
  writer: PackWriter,
  summary: CopySummary,
  report: () => void,
): CopySink {
  const added = new Set<string>();
  let lastReport = 0;
  return {
    add(type: BlobType, id: string, plain: Uint8Array) {
      if (added.has(id) || dst.index.has(id)) return;
      added.add(id);
      writer.add(type, id, plain);
      summary.blobs_copied++;
      summary.bytes_copied += plain.length;
    },
    addSegment(type: BlobType, members: SegmentMember[], payload: Uint8Array) {
      if (members.some((m) => added.has(m.id) || dst.index.has(m.id))) return false;
      writer.addEncoded(type, members, payload);
      for (const m of members) {
        added.add(m.id);
        summary.blobs_copied++;
        summary.bytes_copied += m.rawLength;
      }
      return true;
    },
    read(bytes: number) {
      summary.bytes_read += bytes;
    },
    async pace() {
      if (writer.backlog > MAX_BACKLOG) await writer.drain();
      const now = performance.now();
      if (now - lastReport > 250) {
        lastReport = now;
        report();
      }
    },
  };
}
