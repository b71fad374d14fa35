/**
 * Browsing and comparing snapshots: walk a snapshot's tree, look a path up,
 * diff two snapshots, find paths across snapshots, and retention policies.
 *
 * @module
 */
export * from "./walk_snapshot.ts";
export * from "./path_glob.ts";
export * from "./diff_snapshots.ts";
export * from "./find.ts";
export * from "./retention.ts";
export * from "./select.ts";
export { filterSnapshots, type SnapshotFilter } from "./retention_group.ts";
export * from "./forget_plan.ts";
