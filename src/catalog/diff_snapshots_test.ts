import { type Repository, WalkLimitError } from "../repo/mod.ts";
import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";
import { doublingTree, fileNode, hostileRepo } from "../testing/hostile_repo.ts";
import { diffSnapshots, diffSummary } from "./diff_snapshots.ts";
import { findPath } from "./walk_snapshot.ts";
import { snap, tempRepo, writeFiles } from "./_testing.ts";

const T = new Date("2020-01-01T00:00:00Z");

/** Counts the trees a repository loads, by id. */
function countTreeLoads(repo: Repository): Set<string> {
  const loaded = new Set<string>();
  const real = repo.loadTree.bind(repo);
  repo.loadTree = (id) => {
    loaded.add(id);
    return real(id);
  };
  return loaded;
}

Deno.test("diffSnapshots() lists added, removed, modified and metadata-only changes", async () => {
  const { dir, src, repo } = await tempRepo();
  writeFiles(src, {
    "same/big/1": "one",
    "same/big/2": "two",
    "gone/x": "x",
    "gone/sub/y": "y",
    "edit.txt": "before",
    "chmod.txt": "same",
    "old-file": "f",
    "removed.txt": "r",
  });
  Deno.utimeSync(`${src}/chmod.txt`, T, T);
  const a = await snap(repo, [src]);

  Deno.removeSync(`${src}/gone`, { recursive: true });
  Deno.removeSync(`${src}/removed.txt`);
  Deno.writeTextFileSync(`${src}/edit.txt`, "after, longer");
  Deno.utimeSync(`${src}/edit.txt`, T, new Date("2021-01-01T00:00:00Z"));
  Deno.chmodSync(`${src}/chmod.txt`, 0o600);
  Deno.utimeSync(`${src}/chmod.txt`, T, T);
  Deno.removeSync(`${src}/old-file`);
  Deno.mkdirSync(`${src}/old-file`);
  Deno.writeTextFileSync(`${src}/old-file/inside`, "i");
  writeFiles(src, { "new/deep/n": "n" });
  const b = await snap(repo, [src]);

  const loaded = countTreeLoads(repo);
  const all = await diffSnapshots(repo, a, b);
  const entries = all.filter((e) => e.path.startsWith(src + "/"))
    .map((e) => [e.change, e.path.slice(src.length), e.details.join(",")]);
  assertEquals(entries, [
    ["metadata", "/chmod.txt", "mode"],
    ["modified", "/edit.txt", "size,content,mtime"],
    ["removed", "/gone", ""],
    ["removed", "/gone/sub", ""],
    ["removed", "/gone/sub/y", ""],
    ["removed", "/gone/x", ""],
    ["added", "/new", ""],
    ["added", "/new/deep", ""],
    ["added", "/new/deep/n", ""],
    ["modified", "/old-file", "type"],
    ["added", "/old-file/inside", ""],
    ["removed", "/removed.txt", ""],
  ]);
  const summary = diffSummary(all.filter((e) => e.path.startsWith(src + "/")));
  assertEquals(summary, { added: 4, removed: 5, modified: 2, metadata: 1 });
  // The unchanged subtree was compared by id, never read.
  const same = await findPath(repo, a, `${src}/same`);
  assert(!loaded.has(same!.subtree!), "identical subtree was loaded");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("diffSnapshots() of a snapshot with itself is empty and reads nothing", async () => {
  const { dir, src, repo } = await tempRepo();
  writeFiles(src, { "a": "a" });
  const a = await snap(repo, [src]);
  const loaded = countTreeLoads(repo);
  assertEquals(await diffSnapshots(repo, a, a), []);
  assertEquals(loaded.size, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("diffSnapshots() stops once shared subtrees pass the entry limit", async () => {
  const h = await hostileRepo();
  const a = { tree: doublingTree(h, 13) };
  const changed = h.tree([fileNode("f", [h.put("data", new TextEncoder().encode("x"))], 1)]);
  const b = { tree: doublingTree(h, 13, changed) };
  await h.snapshot(a.tree);
  // 13 tree pairs differ, and every one of 8,192 paths to the bottom with them.
  await assertRejects(() => diffSnapshots(h.repo, a, b, { maxEntries: 3000 }), WalkLimitError);
  const empty = { tree: h.tree([]) };
  await h.snapshot(empty.tree);
  await assertRejects(() => diffSnapshots(h.repo, empty, a, { maxEntries: 3000 }), WalkLimitError);
  const all = await diffSnapshots(h.repo, a, b, { maxEntries: 100_000 });
  assertEquals(all.length, 2 ** 13);
  await Deno.remove(h.dir, { recursive: true });
});
