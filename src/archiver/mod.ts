/**
 * The backup pipeline: walk, read once, chunk, hash, store new blobs, build
 * trees, write the snapshot.
 *
 * @module
 */
export * from "./archiver.ts";
export * from "./parent.ts";
export * from "./mirror_sink.ts";
export * from "./stream_source.ts";
export { BatchWindow, ChunkBatcher } from "./chunk_batches.ts";
