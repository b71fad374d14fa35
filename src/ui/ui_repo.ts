import type { TreeSource } from "../catalog/mod.ts";
import type { ContentSource, SnapshotWithId } from "../repo/mod.ts";

/**
 * What `cairn ui` needs of a repository: its snapshots, trees and file
 * content with blob lengths (for ranges and archives). `Repository` is one;
 * it is also an `ArchiveSource` and a `RestoreRepo`.
 */
export interface UiRepo extends TreeSource, ContentSource {
  blobLength(id: string): number | undefined;
  listSnapshots(): Promise<SnapshotWithId[]>;
}
