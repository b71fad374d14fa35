import { WalkLimitError } from "../repo/mod.ts";
import { assertRejects } from "../testing/asserts.ts";
import { dirNode, doublingTree, hostileRepo } from "../testing/hostile_repo.ts";
import { mirrorSnapshot } from "./mirror_snapshot.ts";

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
