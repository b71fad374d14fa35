/**
 * Mirrors: a plain copy of the backed-up files that opens with any file
 * manager, kept up to date from the same reads as the backup (or from a
 * snapshot), safely (nothing leaves the mirror root, nothing is written
 * through a link, no half-written file ever shows), with a marker file that
 * keeps a purge out of directories that are not cairn mirrors, a lock
 * that keeps two runs out of one mirror, an optional mount point check, and
 * versioned folders whose unchanged files are hard links to the previous
 * version's.
 *
 * @module
 */
export * from "./backup_with_mirror.ts";
export * from "./base.ts";
export * from "./file_writer.ts";
export * from "./marker.ts";
export * from "./mirror_dir.ts";
export * from "./mirror_lock.ts";
export * from "./mirror_run.ts";
export * from "./mirror_snapshot.ts";
export * from "./mirror_tree.ts";
export * from "./report.ts";
export * from "./require_mount.ts";
export * from "./template.ts";
