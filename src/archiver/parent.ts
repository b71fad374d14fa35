import type { Repository, SnapshotWithId } from "../repo/mod.ts";

/**
 * The snapshot a new backup compares with: `ref` when given (id, prefix or
 * `latest`), else the latest snapshot of the same host and the same set of
 * paths (and the same job, when one is named).
 */
export async function findParent(
  repo: Repository,
  host: string,
  paths: readonly string[],
  options: { ref?: string; job?: string } = {},
): Promise<SnapshotWithId | undefined> {
  if (options.ref !== undefined) return await repo.findSnapshot(options.ref);
  const key = JSON.stringify([...paths].sort());
  const same = (await repo.listSnapshots()).filter((s) =>
    s.host === host && JSON.stringify([...s.paths].sort()) === key &&
    (options.job === undefined || s.job === options.job)
  );
  return same.at(-1);
}
