/**
 * Content-defined chunking: splits file contents into variable-size chunks
 * at boundaries chosen by the content itself, so an insertion or deletion
 * only changes the chunks around it and the rest deduplicate.
 *
 * The algorithm is FastCDC (gear hash, sub-minimum skipping, normalized
 * chunking) with the gear table derived from a per-repository secret
 * ({@link gearTable}), so chunk boundaries do not fingerprint known files
 * across repositories.
 *
 * ```ts ignore
 * const chunker = new Chunker(gearTable(repoChunkerSecret));
 * // For each file: chunker.reset(), then for each buffer read from it:
 * let pos = 0;
 * for (let cut; (cut = chunker.next(buf, pos)) !== -1; pos = cut) {
 *   emitChunk(pending, buf.subarray(pos, cut)); // bytes carried over + this part
 * }
 * pending.push(buf.subarray(pos)); // continues into the next buffer
 * // At end of file the pending bytes, if any, are the last chunk.
 * ```
 *
 * @module
 */

export * from "./chunker_params.ts";
export * from "./gear_table.ts";
export * from "./chunker.ts";
