/**
 * The repository: encrypted, deduplicated blobs in pack files, an index of
 * where each blob is, trees (directory listings) and snapshots.
 *
 * @module
 */
export * from "./format.ts";
export * from "./blob_codec.ts";
export * from "./pack.ts";
export * from "./index.ts";
export * from "./id_table.ts";
export * from "./tree.ts";
export * from "./snapshot.ts";
export * from "./sealed_file.ts";
export * from "./repository.ts";
export * from "./check.ts";
export * from "./prune.ts";
export * from "./lock.ts";
export * from "./walk_budget.ts";
export * from "./object_lock.ts";
export * from "./snapshot_guard.ts";
export * from "./repair.ts";
export * from "./rewrite.ts";
export * from "./adopt_packs.ts";
export * from "./keys.ts";
export * from "./file_content.ts";
export * from "./copy.ts";
export * from "./stats.ts";
