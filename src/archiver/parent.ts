import { resolveSnapshot, type SnapshotWithId } from "../repo/mod.ts";

/** Where {@link findParent} looks for snapshots; `Repository` is one. */
export interface ParentSource {
  /** Every readable snapshot, oldest first. */
  listSnapshots(): Promise<SnapshotWithId[]>;
}

/**
 * The snapshot a new backup compares with: `ref` when given (id, prefix or
 * `latest`), else the latest snapshot of the same host and the same set of
 * paths (and the same job, when one is named).
 */
export async function findParent(
  repo: ParentSource,
  host: string,
  paths: readonly string[],
  options: { ref?: string; job?: string } = {},
): Promise<SnapshotWithId | undefined> {
  const all = await repo.listSnapshots();
  if (options.ref !== undefined) return resolveSnapshot(all, options.ref);
  const key = JSON.stringify([...paths].sort());
  const same = all.filter((s) =>
    s.host === host && JSON.stringify([...s.paths].sort()) === key &&
    (options.job === undefined || s.job === options.job)
  );
  return same.at(-1);
}
