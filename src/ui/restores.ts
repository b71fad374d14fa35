/**
 * Restores started from the page: one chosen path of a snapshot into a
 * directory, run in the background with counters the page polls. This is
 * the only thing `cairn ui` writes, and only where the user says.
 */
import { isAbsolute } from "node:path";
import { splitPath } from "../catalog/mod.ts";
import type { Node, SnapshotWithId, Tree } from "../repo/mod.ts";
import { type Overwrite, OVERWRITE_MODES, restore, type RestoreRepo } from "../restore/mod.ts";

/** What the page sees of one restore. */
export interface RestoreStatus {
  id: string;
  snapshot: string;
  path: string;
  target: string;
  state: "running" | "done" | "failed";
  files: number;
  dirs: number;
  bytes: number;
  skipped: number;
  /** The snapshot path written last. */
  current: string;
  errors: { path: string; message: string }[];
  warnings: number;
  /** Why it failed, when it did. */
  message?: string;
}

/** Bad restore input: answered 400 with the message. */
export class RestoreRequestError extends Error {
  override name = "RestoreRequestError";
}

/** A synthetic tree id: the chosen node as the only entry of a root (never stored). */
const CHOSEN_ROOT = "f".repeat(64);

/** Runs and remembers restores. */
export class Restores {
  readonly #all = new Map<string, RestoreStatus>();
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly repo: RestoreRepo, private readonly signal?: AbortSignal) {}

  /** Restore status `id`, if there is one. */
  get(id: string): RestoreStatus | undefined {
    return this.#all.get(id);
  }

  /**
   * Starts restoring `path` of `snapshot` (the node found there) into
   * `target`, which must be an absolute path: the entry lands at
   * `target/NAME` (the root's entries straight in `target`).
   */
  start(
    snapshot: SnapshotWithId,
    path: string,
    node: Node,
    target: string,
    overwrite: string = "never",
  ): RestoreStatus {
    if (typeof target !== "string" || target === "" || !isAbsolute(target)) {
      throw new RestoreRequestError(`target ${JSON.stringify(target)} is not an absolute path`);
    }
    if (!(OVERWRITE_MODES as readonly string[]).includes(overwrite)) {
      throw new RestoreRequestError(
        `overwrite ${JSON.stringify(overwrite)}: use one of ${OVERWRITE_MODES.join(", ")}`,
      );
    }
    const id = crypto.randomUUID();
    const status: RestoreStatus = {
      id,
      snapshot: snapshot.id,
      path,
      target,
      state: "running",
      files: 0,
      dirs: 0,
      bytes: 0,
      skipped: 0,
      current: "",
      errors: [],
      warnings: 0,
    };
    this.#all.set(id, status);
    const root = splitPath(path).length === 0;
    const repo = root ? this.repo : chosenOnly(this.repo, node);
    const task = restore(repo, { tree: root ? snapshot.tree : CHOSEN_ROOT }, {
      target,
      overwrite: overwrite as Overwrite,
      signal: this.signal,
      onProgress: (p) => {
        status.files = p.files;
        status.dirs = p.dirs;
        status.bytes = p.bytes;
        status.current = p.path;
      },
      onWarning: () => status.warnings++,
      onError: (p, message) => {
        if (status.errors.length < 100) status.errors.push({ path: p, message });
      },
    }).then((r) => {
      Object.assign(status, { files: r.files, dirs: r.dirs, bytes: r.bytes, skipped: r.skipped });
      status.state = r.errors.length > 0 ? "failed" : "done";
      if (r.errors.length > 0) status.message = `${r.errors.length} entries could not be restored`;
    }, (err) => {
      status.state = "failed";
      status.message = (err as Error).message;
    });
    this.#running.add(task);
    task.finally(() => this.#running.delete(task));
    return status;
  }

  /** Settles when every restore started has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }
}

/** `repo` with one more tree: a root holding only `node`. */
function chosenOnly(repo: RestoreRepo, node: Node): RestoreRepo {
  const tree: Tree = { nodes: [node] };
  return {
    loadTree: (id) => id === CHOSEN_ROOT ? Promise.resolve(tree) : repo.loadTree(id),
    loadBlob: (type, id) => repo.loadBlob(type, id),
    blobLength: repo.blobLength ? (id) => repo.blobLength!(id) : undefined,
  };
}
