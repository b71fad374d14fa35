/**
 * Picks the snapshot a SNAPSHOT argument names, among those that pass the
 * `--host`, `--path`, `--tag` and `--job` filters, as restic does: in a
 * repository shared by a fleet, `latest --host web1` is web1's newest.
 *
 * @module
 */
import { resolveSnapshot, type SnapshotWithId } from "../repo/mod.ts";
import { filterSnapshots, type SnapshotFilter } from "./retention_group.ts";

/** Is any filter set? */
export function isFiltered(filter: SnapshotFilter): boolean {
  return [filter.hosts, filter.paths, filter.tags, filter.jobs].some((l) => (l?.length ?? 0) > 0);
}

/** The filters as the command line spells them, for messages. */
export function describeFilter(filter: SnapshotFilter): string {
  const parts: string[] = [];
  for (const h of filter.hosts ?? []) parts.push(`--host ${h}`);
  for (const p of filter.paths ?? []) parts.push(`--path ${p}`);
  for (const t of filter.tags ?? []) parts.push(`--tag ${t}`);
  for (const j of filter.jobs ?? []) parts.push(`--job ${j}`);
  return parts.join(" ");
}

/**
 * The snapshot `ref` names (an id, a unique id prefix, or `latest`) among
 * those passing `filter`. The filter applies to ids too, so a prefix is
 * unique within the selection, and an id outside it is an error rather than
 * a silent override of what the user asked for.
 */
export function selectSnapshot(
  all: readonly SnapshotWithId[],
  ref: string,
  filter: SnapshotFilter = {},
): SnapshotWithId {
  if (!isFiltered(filter)) return resolveSnapshot(all, ref);
  const chosen = filterSnapshots(all, filter);
  if (chosen.length === 0) {
    throw new Error(`No snapshot found matching ${describeFilter(filter)}`);
  }
  try {
    return resolveSnapshot(chosen, ref);
  } catch (err) {
    if (ref !== "latest" && all.some((s) => s.id.startsWith(ref))) {
      throw new Error(`Snapshot "${ref}" does not match ${describeFilter(filter)}`, { cause: err });
    }
    throw err;
  }
}
