import { filterSnapshots, selectSnapshot, type SnapshotFilter } from "../catalog/mod.ts";
import type { SnapshotWithId } from "../repo/mod.ts";
import { type Flags, listFlag, type OptionSpec } from "./command.ts";

/**
 * The options that narrow which snapshots a SNAPSHOT argument (`latest`
 * included) or a listing considers, with restic's meanings: each may be
 * repeated; a snapshot passes when it is of any given host and job, holds
 * every given path, and carries every tag of at least one `--tag` set.
 */
export const SNAPSHOT_FILTER_OPTIONS: Record<string, OptionSpec> = {
  host: {
    type: "string",
    multiple: true,
    arg: "HOST",
    description: "only snapshots of this host (repeatable: any of them)",
  },
  path: {
    type: "string",
    multiple: true,
    arg: "PATH",
    description: "only snapshots that include this source path (repeatable: all of them)",
  },
  tag: {
    type: "string",
    multiple: true,
    arg: "TAG[,TAG]",
    description: "only snapshots with all these tags (repeatable: any of the sets)",
  },
  job: {
    type: "string",
    multiple: true,
    arg: "JOB",
    description: "only snapshots of this job (repeatable: any of them)",
  },
};

/** The filter the options above give. */
export function snapshotFilter(flags: Flags): SnapshotFilter {
  return {
    hosts: listFlag(flags, "host"),
    paths: listFlag(flags, "path"),
    tags: listFlag(flags, "tag"),
    jobs: listFlag(flags, "job"),
  };
}

/** Where a command's snapshots come from; `Repository` is one. */
export interface SnapshotSource {
  /** Every readable snapshot, oldest first. */
  listSnapshots(): Promise<SnapshotWithId[]>;
}

/** The snapshot a SNAPSHOT argument names, among those the filter options select. */
export async function findSnapshotArg(
  repo: SnapshotSource,
  ref: string,
  flags: Flags,
): Promise<SnapshotWithId> {
  return selectSnapshot(await repo.listSnapshots(), ref, snapshotFilter(flags));
}

/**
 * The snapshots a command that edits several takes (`tag`, `rewrite`): those
 * the SNAPSHOT arguments name (each within the filters), else every one the
 * filters select. Every argument is resolved before any is returned.
 */
export async function selectSnapshotArgs(
  repo: SnapshotSource,
  refs: readonly string[],
  flags: Flags,
): Promise<SnapshotWithId[]> {
  const all = await repo.listSnapshots();
  const filter = snapshotFilter(flags);
  if (refs.length === 0) return filterSnapshots(all, filter);
  const chosen = new Map<string, SnapshotWithId>();
  for (const ref of refs) {
    const s = selectSnapshot(all, ref, filter);
    chosen.set(s.id, s);
  }
  return [...chosen.values()];
}
