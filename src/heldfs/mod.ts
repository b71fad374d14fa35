/**
 * Paths that cannot be redirected: directories held open by descriptor,
 * and the entries in them reached through `/proc/self/fd/N/name`, so a
 * directory swapped for a symlink (or moved) while cairn writes into it
 * cannot send a single write elsewhere. See {@link HeldDir}.
 *
 * @module
 */
export * from "./held_dir.ts";
export * from "./final_file.ts";
