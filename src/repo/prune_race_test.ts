/**
 * Backups racing prune: each race is staged with hooks (prune's onPlanned,
 * and a backend that holds a backup at its last index listing), never by
 * timing.
 */
import { join } from "node:path";
import { backup } from "../archiver/mod.ts";
import type { Backend, FileType, OpOptions } from "../backend/mod.ts";
import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";
import { CorruptError } from "./format.ts";
import { acquireSharedLock, removeAllLocks } from "./lock.ts";
import { pruneRepository } from "./prune.ts";
import { Repository } from "./repository.ts";
import { loadIndexState } from "./_prune_index.ts";
import {
  agePacks,
  newRepo,
  randomBytes,
  restoreFiles,
  verifyRepository,
  writeTree,
} from "./_prune_testing.ts";

const HOUR = 3600_000;

/** Passes everything through, but holds the `n`th listing of the index until `open()`. */
class HoldIndexListing implements Backend {
  #lists = 0;
  #release!: () => void;
  readonly #gate = new Promise<void>((r) => (this.#release = r));
  #arrived!: () => void;
  /** Resolves once the held listing has been reached. */
  readonly reached = new Promise<void>((r) => (this.#arrived = r));

  constructor(readonly inner: Backend, private readonly n: number) {}
  get location() {
    return this.inner.location;
  }
  open(): void {
    this.#release();
  }
  save(t: FileType, n: string, d: Uint8Array, o?: OpOptions) {
    return this.inner.save(t, n, d, o);
  }
  load(t: FileType, n: string, r?: { offset: number; length: number }, o?: OpOptions) {
    return this.inner.load(t, n, r, o);
  }
  stat(t: FileType, n: string, o?: OpOptions) {
    return this.inner.stat(t, n, o);
  }
  remove(t: FileType, n: string, o?: OpOptions) {
    return this.inner.remove(t, n, o);
  }
  close() {
    return this.inner.close();
  }
  async *list(t: FileType, o?: OpOptions) {
    if (t === "index" && ++this.#lists === this.n) {
      this.#arrived();
      await this.#gate;
    }
    yield* this.inner.list(t, o);
  }
}

/** A repository whose only snapshot was forgotten: its packs are unused and old. */
async function forgotten() {
  const { dir, backend, repo } = await newRepo();
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 8; i++) files[`f${i}`] = randomBytes(20_000);
  const src = writeTree(dir, "src", files);
  const s1 = await backup(repo, { paths: [src], host: "h", workers: 1 });
  await backend.remove("snapshots", s1.id);
  await agePacks(backend, 2 * HOUR);
  return { dir, backend, repo, src };
}

for (const graceMs of [0, undefined]) {
  Deno.test(`a backup that starts and ends while prune runs keeps a whole snapshot (grace ${graceMs ?? "default"})`, async () => {
    const { dir, backend, repo, src } = await forgotten();
    let late: string | undefined;
    const stats = await pruneRepository(repo, {
      graceMs,
      // After prune listed locks and snapshots: the backup reuses every blob prune is dropping.
      onPlanned: async () => {
        const other = await Repository.open(backend, "pw");
        late = (await backup(other, { paths: [src], host: "h", workers: 1 })).id;
      },
    });
    assert(late !== undefined);
    assert(stats.packsDropped > 0);
    assertEquals(stats.packsDeleted, 0, "deleted packs a snapshot written meanwhile uses");
    assertEquals(await verifyRepository(backend.dir), 1);
    // The next prune sees the snapshot and puts the packs back.
    const next = await pruneRepository(await Repository.open(backend, "pw"), { graceMs: 0 });
    assert(next.packsReindexed > 0);
    assertEquals(next.packsDeleted, 0);
    assertEquals(await verifyRepository(backend.dir), 1);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("a reader that starts while prune --grace 0 runs still reads what prune repacked", async () => {
  const { dir, backend, repo } = await newRepo();
  const a: Record<string, Uint8Array> = {};
  for (let i = 0; i < 6; i++) a[`a${i}`] = randomBytes(10_000);
  const A = writeTree(dir, "A", a);
  const B = writeTree(dir, "B", { a0: a.a0, a1: a.a1, b0: randomBytes(10_000) });
  const s1 = await backup(repo, { paths: [A], host: "h", workers: 1 });
  const s2 = await backup(repo, { paths: [B], host: "h", workers: 1 });
  await backend.remove("snapshots", s1.id);
  await agePacks(backend, 2 * HOUR);
  // The reader opens and locks after prune listed the locks: it reads a0
  // and a1 from the pack prune repacks and drops.
  const reader = await Repository.open(backend, "pw");
  const stats = await pruneRepository(repo, {
    graceMs: 0,
    onPlanned: async () => {
      await acquireSharedLock(reader, { refreshMs: 0 });
      await reader.refreshIndex();
    },
  });
  assertEquals(stats.packsRepacked, 1);
  assertEquals(stats.packsDeleted, 0, "deleted a pack from under a reader");
  const files = await restoreFiles(reader, { ...s2.snapshot, id: s2.id });
  assertEquals(files.get(join(B, "a0")), a.a0);
  assertEquals(files.get(join(B, "b0")), Deno.readFileSync(join(B, "b0")));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a backup running across prune's index switch reindexes what it reused", async () => {
  const { dir, backend, repo, src } = await forgotten();
  // Listings: open, refresh after the lock, then the guard's: hold that one.
  const held = new HoldIndexListing(backend, 3);
  let running: Promise<unknown> | undefined;
  const stats = await pruneRepository(repo, {
    graceMs: 0,
    onPlanned: async () => {
      const other = await Repository.open(held, "pw");
      running = backup(other, { paths: [src], host: "h", workers: 1 });
      await held.reached;
    },
  });
  assert(stats.packsDropped > 0);
  assertEquals(stats.packsDeleted, 0, "deleted packs a running backup reused");
  // Later prunes hold the drops back while the backup's lock is live.
  const during = await pruneRepository(await Repository.open(backend, "pw"), { graceMs: 0 });
  assertEquals(during.packsDeleted, 0);
  held.open();
  await running;
  const state = await loadIndexState(await Repository.open(backend, "pw"));
  assertEquals(state.dropped.size, 0, "the backup put the packs it needs back into the index");
  assertEquals(await verifyRepository(backend.dir), 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a backup whose reused blobs were deleted fails instead of writing a broken snapshot", async () => {
  const { dir, backend, src } = await forgotten();
  const held = new HoldIndexListing(backend, 3);
  const other = await Repository.open(held, "pw");
  const running = backup(other, { paths: [src], host: "h", workers: 1 });
  await held.reached;
  // Someone removes the backup's lock by hand; prune then cannot know of it.
  const repo = await Repository.open(backend, "pw");
  await removeAllLocks(repo);
  const stats = await pruneRepository(repo, { graceMs: 0 });
  assert(stats.packsDeleted > 0);
  held.open();
  await assertRejects(() => running, CorruptError, "no snapshot was written");
  const names: string[] = [];
  for await (const f of backend.list("snapshots")) names.push(f.name);
  assertEquals(names, []);
  await Deno.remove(dir, { recursive: true });
});
