/**
 * Walking source trees: sorted directory listings with lstat, and the
 * exclusion rules.
 *
 * @module
 */
export * from "./list_dir.ts";
export * from "./excluder.ts";
export * from "./dir_lister.ts";
export * from "./markers.ts";
export * from "./tree_counter.ts";
export * from "./list_file.ts";
