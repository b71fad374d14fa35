/**
 * The backup pipeline: walk, read once, chunk, hash, store new blobs, build
 * trees, write the snapshot.
 *
 * @module
 */
export * from "./archiver.ts";
export * from "./parent.ts";
export * from "./backup_mirror.ts";
export type { FileResult } from "./_protocol.ts";
export {
  applyXattrs,
  MIRROR_TEMP_PREFIX,
  MirrorFileWriter,
  retimeMirrorFile,
  sameContent,
  tempBeside,
} from "./_mirror_file.ts";
export * from "./stream_source.ts";
