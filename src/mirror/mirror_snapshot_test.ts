import { WalkLimitError } from "../repo/mod.ts";
import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { deepTree, dirNode, doublingTree, hostileRepo } from "../testing/hostile_repo.ts";
import { mirrorSnapshot, type MirrorSource } from "./mirror_snapshot.ts";

Deno.test("mirrorSnapshot() stops once shared subtrees pass the entry limit", async () => {
  const h = await hostileRepo();
  const root = h.tree([dirNode("x", doublingTree(h, 14))]);
  const snapshot = await h.repo.loadSnapshot(await h.snapshot(root, ["/x"]));
  await assertRejects(
    () =>
      mirrorSnapshot(h.repo, snapshot, { path: `${h.dir}/mirror`, purge: false, maxEntries: 3000 }),
    WalkLimitError,
    "Stopped after 3000 entries",
  );
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("mirrorSnapshot() needs only a MirrorSource: snapshots, trees and blobs", async () => {
  const h = await hostileRepo();
  const root = h.tree([dirNode("x", deepTree(h, 3))]);
  const snapshot = await h.repo.loadSnapshot(await h.snapshot(root, ["/x"]));
  const narrow: MirrorSource = {
    loadSnapshot: (id) => h.repo.loadSnapshot(id),
    loadTree: (id) => h.repo.loadTree(id),
    loadBlob: (type, id) => h.repo.loadBlob(type, id),
  };
  const result = await mirrorSnapshot(narrow, snapshot, { path: `${h.dir}/mirror`, purge: false });
  assertEquals(Deno.readTextFileSync(`${h.dir}/mirror/d/d/d/f`), "bottom");
  assertEquals([result.stats.written, result.errors.length], [1, 0]);
  await Deno.remove(h.dir, { recursive: true });
});
