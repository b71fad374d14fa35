/**
 * Small building blocks shared by every layer, laid out like Deno std's `fs`:
 * one function family a file, its test beside it.
 *
 * - {@link writeFileAtomic}: a crash leaves the old file or the whole new one
 *   (temp file → write → fsync → rename or link → fsync of the directory).
 * - {@link syncDir} / {@link syncDirSync}: make a directory's entries durable.
 * - {@link readFileIfExists}: a file's bytes, or `undefined` when it is missing.
 * - {@link lstatOrNull}: lstat that never follows a link, or null when nothing is there.
 * - {@link abortableSleep}: wait, or reject with the signal's reason.
 * - {@link onAbort}: run something when a signal aborts, also when it already has.
 * - {@link concatBytes}: byte arrays joined into one.
 * - {@link freeBytes}: a byte array's memory given back now, not at the next collection.
 *
 * This module imports nothing of cairn's, so any layer may use it.
 *
 * @module
 */

export { TEMP_PREFIX, writeFileAtomic, type WriteFileAtomicOptions } from "./write_file_atomic.ts";
export { syncDir, syncDirSync } from "./sync_dir.ts";
export { readFileIfExists } from "./read_file_if_exists.ts";
export { lstatOrNull } from "./lstat_or_null.ts";
export { abortableSleep } from "./abortable_sleep.ts";
export { onAbort } from "./on_abort.ts";
export { concatBytes } from "./concat_bytes.ts";
export { freeBytes } from "./free_bytes.ts";
