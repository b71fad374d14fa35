/**
 * The last check a backup makes before it writes its snapshot: is every
 * blob the snapshot references still stored and indexed? (docs/PRUNE.md
 * rule 8.)
 *
 * A backup skips every blob its index lists. A prune that ran meanwhile may
 * have taken some of those out of the index; locks keep it from deleting
 * them (rules 4 and 5), and this check is what makes the rule hold whatever
 * happened to the locks: a blob found only in a dropped pack puts that pack
 * back into the index (rule 7), and a blob found nowhere stops the backup,
 * so no backup reports success for a snapshot that does not restore.
 *
 * It costs one listing when no index file was superseded since the backup
 * took its lock (only then can a blob have left the index), and a walk of
 * the snapshot's trees only when a pack this backup could rely on did.
 *
 * @module
 */
import { type Backend, NotFoundError } from "../backend/mod.ts";
import type { MasterKey } from "../crypto/mod.ts";
import { CorruptError } from "./format.ts";
import {
  loadIndexFile,
  mapLimit,
  type MasterIndex,
  type PackEntry,
  saveIndexFile,
} from "./index.ts";
import { readPackTrailer } from "./pack.ts";
import type { Tree } from "./tree.ts";

/**
 * What the guard needs of a repository: storage, the key index files are
 * sealed with, the loaded index and the names of the files it came from, a
 * way to reload it, and trees. `Repository` is one.
 */
export interface GuardRepo {
  readonly backend: Backend;
  readonly master: Pick<MasterKey, "enc">;
  /** Every index file listed when {@link index} was loaded. */
  readonly indexFiles: readonly string[];
  /** Read again after {@link reloadIndex}, which replaces it. */
  readonly index: Pick<MasterIndex, "has" | "get" | "packs">;
  reloadIndex(): Promise<void>;
  loadTree(id: string): Promise<Tree>;
}

/** A backup's view of the index, taken once it holds its shared lock. */
export class SnapshotGuard {
  readonly #files: Set<string>;
  /** Index files this backup wrote: they supersede nothing, and need no reading. */
  readonly #own = new Set<string>();

  constructor(private readonly repo: GuardRepo) {
    this.#files = new Set(repo.indexFiles);
  }

  /**
   * Records an index file this backup wrote (named by the hash of what it
   * wrote, so a file of that name is that file). {@link verify} does not read
   * it again: a million-file backup's own index files, loaded whole at once,
   * took 130 MiB of heap at its very end.
   */
  wrote(name: string): void {
    this.#own.add(name);
  }

  /**
   * Throws if a blob reachable from `root` is stored nowhere; reindexes the
   * dropped packs it still needs. Call after the backup's own packs are
   * indexed and right before its snapshot is written.
   */
  async verify(root: string, signal?: AbortSignal): Promise<void> {
    const { repo } = this;
    const listed = new Set<string>();
    for await (const f of repo.backend.list("index", { signal })) listed.add(f.name);
    const gone = [...this.#files].some((n) => !listed.has(n));
    if (!gone) {
      const added = [...listed].filter((n) => !this.#files.has(n) && !this.#own.has(n));
      // Only whether each supersedes anything is kept, not its blob list.
      const supersedeNothing = await mapLimit(
        added,
        8,
        (n) =>
          loadIndexFile(repo.backend, repo.master.enc, n).then(
            (f) => f.supersedes.length === 0,
            () => false,
          ),
      );
      // Files only added (by backups) cannot take a blob out of the index.
      if (supersedeNothing.every((ok) => ok)) return;
    }
    const before = new Set([...repo.index.packs()].map((p) => p.name));
    await repo.reloadIndex();
    for (const p of repo.index.packs()) before.delete(p.name);
    if (before.size === 0) return;

    const needed = new Set<string>();
    const missing: string[] = [];
    const present = new Map<string, Promise<boolean>>();
    const exists = (pack: string) => {
      let p = present.get(pack);
      if (!p) {
        p = repo.backend.stat("data", pack).then(() => true, (err) => {
          if (err instanceof NotFoundError) return false;
          throw err;
        });
        present.set(pack, p);
      }
      return p;
    };
    const want = async (id: string) => {
      if (repo.index.has(id)) return true;
      const entry = repo.index.get(id);
      if (entry && await exists(entry.pack.name)) {
        needed.add(entry.pack.name);
        return true;
      }
      missing.push(id);
      return false;
    };
    const seen = new Set<string>([root]);
    let queue = [root];
    while (queue.length > 0) {
      const next: string[] = [];
      await mapLimit(queue, 8, async (id) => {
        signal?.throwIfAborted();
        if (!(await want(id))) return;
        for (const node of (await repo.loadTree(id)).nodes) {
          for (const blob of node.content ?? []) {
            if (!seen.has(blob)) (seen.add(blob), await want(blob));
          }
          if (node.subtree && !seen.has(node.subtree)) {
            seen.add(node.subtree);
            next.push(node.subtree);
          }
        }
      });
      queue = next;
    }
    if (missing.length > 0) {
      throw new CorruptError(
        `${missing.length} blob(s) this backup reused were deleted meanwhile (e.g. ${
          missing[0]
        }), by a prune that could not see this backup's lock; no snapshot was written: ` +
          "run the backup again",
      );
    }
    if (needed.size > 0) await reindexDropped(repo, needed);
  }
}

/** Writes an index file that lists the dropped packs `names` as live again. */
async function reindexDropped(repo: GuardRepo, names: Set<string>): Promise<void> {
  const found = new Map<string, PackEntry>();
  for (const file of repo.indexFiles) {
    let f;
    try {
      f = await loadIndexFile(repo.backend, repo.master.enc, file);
    } catch (err) {
      if (err instanceof NotFoundError) continue; // superseded and deleted meanwhile
      throw err;
    }
    for (const d of f.dropped) {
      if (names.has(d.name)) found.set(d.name, { name: d.name, salt: d.salt, blobs: d.blobs });
    }
  }
  // Packs no index lists (found through their headers) are described by their trailers.
  for (const name of names) {
    if (found.has(name)) continue;
    const { salt, blobs } = await readPackTrailer(repo.backend, repo.master.enc, name);
    found.set(name, { name, salt, blobs });
  }
  await saveIndexFile(repo.backend, repo.master.enc, [...found.values()]);
}
