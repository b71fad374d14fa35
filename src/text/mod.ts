/**
 * Text for people to read: {@link printable} makes a name from a file system,
 * a snapshot or another host safe to put on a terminal or in a log line.
 *
 * {@link parseDataSubset} reads what `check --read-data-subset` (and a job
 * file's `read_data_subset`) name.
 *
 * This module imports nothing of cairn's, so any layer may use it.
 *
 * @module
 */

export { printable } from "./printable.ts";
export { escapeHtml, escapeXml } from "./escape.ts";
export { type DataSubset, parseDataSubset } from "./data_subset.ts";
export { formatBytes } from "./bytes.ts";
