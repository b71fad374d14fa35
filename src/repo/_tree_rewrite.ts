/**
 * The one sequence `repair snapshots` and `rewrite` share to write
 * snapshots over new trees: the lock (none in a dry run) and a fresh index,
 * new trees into a pack writer, then for each snapshot its packs and their
 * index file, the guard's last check that every blob it needs is stored, and
 * only then the snapshot file.
 *
 * @module
 */
import { keyedId, type MasterKey, toHex } from "../crypto/mod.ts";
import { type MasterIndex, saveIndexFile } from "./index.ts";
import { acquireExclusiveLock, acquireSharedLock, type LockRepo } from "./lock.ts";
import type { PackInfo, PackWriter } from "./pack.ts";
import { type GuardRepo, SnapshotGuard } from "./snapshot_guard.ts";
import { encodeTree, type Tree } from "./tree.ts";

/** What writing trees and snapshots over them needs: storage, keys, the index, a pack writer. */
export interface TreeRewriteRepo extends LockRepo, GuardRepo {
  readonly master: Pick<MasterKey, "enc" | "id">;
  readonly index: Pick<MasterIndex, "has" | "get" | "packs" | "addPack">;
  refreshIndex(): Promise<boolean>;
  newPackWriter(onPack: (p: PackInfo) => void | Promise<void>): PackWriter;
}

/** The new trees of one run, and how a snapshot over them is committed. */
export class TreeRewrite {
  readonly #packs: PackInfo[] = [];
  readonly #writer: PackWriter;
  readonly #added = new Set<string>();
  readonly #guard: SnapshotGuard;

  constructor(
    private readonly repo: TreeRewriteRepo,
    readonly dryRun: boolean,
    private readonly signal?: AbortSignal,
  ) {
    this.#guard = new SnapshotGuard(repo);
    this.#writer = repo.newPackWriter((p) => {
      repo.index.addPack(p);
      this.#packs.push(p);
    });
  }

  /** Stores `tree` (unless a dry run, or it is stored already); returns its id. */
  saveTree(tree: Tree): string {
    const bytes = encodeTree(tree);
    const id = toHex(keyedId(this.repo.master.id, bytes));
    if (this.dryRun || this.#added.has(id) || this.repo.index.has(id)) return id;
    this.#added.add(id);
    this.#writer.add("tree", id, bytes);
    return id;
  }

  /**
   * Makes the trees under `root` durable and indexed, checks that every
   * blob they need is stored, then runs `save` (which writes the snapshot
   * file) and returns what it returns. Never in a dry run.
   */
  async commit(root: string, save: () => Promise<string>): Promise<string> {
    await this.#writer.flush();
    if (this.#packs.length > 0) {
      await saveIndexFile(this.repo.backend, this.repo.master.enc, this.#packs.splice(0));
    }
    await this.#guard.verify(root, this.signal);
    return await save();
  }
}

/**
 * Runs `work` with a {@link TreeRewrite} under the `lock` it asks for (none
 * in a dry run), the index reread once the lock is held; the lock is
 * released however `work` ends.
 */
export async function rewritingTrees<T>(
  repo: TreeRewriteRepo,
  opts: {
    lock: "shared" | "exclusive";
    dryRun: boolean;
    signal?: AbortSignal;
    onWarning?: (msg: string) => void;
  },
  work: (t: TreeRewrite) => Promise<T>,
): Promise<T> {
  const lockOpts = { signal: opts.signal, onWarning: opts.onWarning };
  const lock = opts.dryRun
    ? undefined
    : opts.lock === "exclusive"
    ? await acquireExclusiveLock(repo, lockOpts)
    : await acquireSharedLock(repo, lockOpts);
  try {
    if (lock) await repo.refreshIndex();
    return await work(new TreeRewrite(repo, opts.dryRun, opts.signal));
  } finally {
    await lock?.release();
  }
}
