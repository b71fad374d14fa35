/**
 * What `cairn copy` needs of the two repositories, and the one place blobs go.
 *
 * @module
 */
import type { ChunkerParams } from "../chunker/mod.ts";
import type { MasterKey } from "../crypto/mod.ts";
import type { SegmentMember } from "./blob_codec.ts";
import type { BlobType } from "./format.ts";
import type { IndexEntry, MasterIndex } from "./index.ts";
import type { PackInfo, PackWriter } from "./pack.ts";
import type { Snapshot, SnapshotWithId } from "./snapshot.ts";
import type { AdoptRepo } from "./adopt_packs.ts";
import type { GuardRepo } from "./snapshot_guard.ts";
import type { LockRepo } from "./lock.ts";
import type { Tree } from "./tree.ts";
import type { Backend } from "../backend/mod.ts";

/** The repository snapshots are copied from. `Repository` is one. */
export interface CopySource {
  readonly backend: Backend;
  readonly master: Pick<MasterKey, "enc" | "id" | "chunker">;
  readonly config: { readonly chunker: ChunkerParams };
  loadTree(id: string): Promise<Tree>;
  loadBlob(type: BlobType, id: string): Promise<Uint8Array>;
  locateBlob(type: BlobType, id: string): Promise<IndexEntry>;
  blobLength(id: string): number | undefined;
}

/** The repository snapshots are copied into. `Repository` is one. */
export interface CopyDestination extends LockRepo, GuardRepo, AdoptRepo {
  readonly master: Pick<MasterKey, "enc" | "id" | "chunker">;
  readonly config: { readonly chunker: ChunkerParams };
  readonly index: Pick<MasterIndex, "has" | "get" | "packs" | "droppedPacks" | "addPack">;
  refreshIndex(): Promise<boolean>;
  assertIndexWhole(what: string): void;
  listSnapshots(): Promise<SnapshotWithId[]>;
  newPackWriter(onPack: (p: PackInfo) => void | Promise<void>): PackWriter;
  saveSnapshot(snapshot: Snapshot): Promise<string>;
}

/** Where copied blobs go: into the destination's packs unless it has them already. */
export interface CopySink {
  /** Stores one blob (its destination id) unless the destination has it or it was added. */
  add(type: BlobType, id: string, plain: Uint8Array): void;
  /**
   * Stores a whole source segment as it is (`payload`, see
   * `PackWriter.addEncoded`) when none of its blobs is stored or added yet;
   * returns false, storing nothing, otherwise. `members` were verified.
   */
  addSegment(type: BlobType, members: SegmentMember[], payload: Uint8Array): boolean;
  /** Counts bytes read from the source, for progress. */
  read(bytes: number): void;
  /** Waits while too many packs are queued for writing. */
  pace(): Promise<void>;
}
