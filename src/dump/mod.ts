/**
 * `cairn dump --archive`: a directory of a snapshot streamed as one archive
 * (tar or zip), with modes, owners, times and links.
 *
 * @module
 */
export * from "./archive.ts";
