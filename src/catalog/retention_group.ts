/**
 * Grouping and filtering snapshots before a retention policy is applied,
 * as restic's `forget --group-by` / `--host` / `--tag` / `--path` do.
 *
 * @module
 */

import { hasTagSet, type RetentionInput } from "./retention.ts";

/** What snapshots can be grouped by. */
export type GroupField = "host" | "paths" | "tags" | "job";

/** Snapshots sharing the same values of the grouping fields. */
export interface SnapshotGroup<T extends RetentionInput = RetentionInput> {
  /** A stable string form of the group, for sorting and display. */
  key: string;
  host?: string;
  paths?: string[];
  tags?: string[];
  job?: string;
  snapshots: T[];
}

/**
 * Splits snapshots into groups with equal host, paths and job (by default), so
 * a policy never weighs one machine's or one job's backups against another's.
 * Paths and tags compare as sets. Groups come back sorted by key.
 */
export function groupSnapshots<T extends RetentionInput>(
  snapshots: readonly T[],
  by: readonly GroupField[] = ["host", "paths", "job"],
): SnapshotGroup<T>[] {
  const groups = new Map<string, SnapshotGroup<T>>();
  for (const s of snapshots) {
    const g: Omit<SnapshotGroup<T>, "key" | "snapshots"> = {};
    if (by.includes("host")) g.host = s.host;
    if (by.includes("paths")) g.paths = [...s.paths].sort();
    if (by.includes("tags")) g.tags = [...s.tags].sort();
    if (by.includes("job")) g.job = s.job ?? "";
    const key = JSON.stringify([g.host, g.paths, g.tags, g.job]);
    let group = groups.get(key);
    if (!group) {
      group = { key, ...g, snapshots: [] };
      groups.set(key, group);
    }
    group.snapshots.push(s);
  }
  return [...groups.values()].sort((a, b) => a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Filters for {@linkcode filterSnapshots}; an empty or missing list means "any". */
export interface SnapshotFilter {
  /** Keep snapshots from any of these hosts. */
  hosts?: string[];
  /** Keep snapshots carrying any of these tag sets (each comma-separated, all tags required; "" = untagged). */
  tags?: string[];
  /** Keep snapshots that contain all of these paths. */
  paths?: string[];
  /** Keep snapshots of any of these jobs. */
  jobs?: string[];
}

/** The fields a {@linkcode SnapshotFilter} looks at. */
export type FilterInput = Pick<RetentionInput, "host" | "paths" | "tags" | "job">;

/** Selects the snapshots a `forget --host H --tag T` run (or a SNAPSHOT argument) considers. */
export function filterSnapshots<T extends FilterInput>(
  snapshots: readonly T[],
  filter: SnapshotFilter,
): T[] {
  return snapshots.filter((s) =>
    (!filter.hosts?.length || filter.hosts.includes(s.host)) &&
    (!filter.tags?.length || filter.tags.some((t) => hasTagSet(s, t))) &&
    (!filter.paths?.length || filter.paths.every((p) => s.paths.includes(p))) &&
    (!filter.jobs?.length || (s.job !== undefined && filter.jobs.includes(s.job)))
  );
}
