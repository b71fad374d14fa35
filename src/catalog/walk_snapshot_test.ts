import { assert, assertEquals, assertRejects, assertStringIncludes } from "../testing/asserts.ts";
import { deepTree, doublingTree, hostileRepo } from "../testing/hostile_repo.ts";
import { rawNode } from "../testing/raw_node.ts";
import { type Node, type Tree, WalkBudget, WalkLimitError } from "../repo/mod.ts";
import { findPath, splitPath, walkSnapshot } from "./walk_snapshot.ts";
import { snap, tempRepo, writeFiles } from "./_testing.ts";

Deno.test("walkSnapshot() yields every entry depth first in name order", async () => {
  const { dir, src, repo } = await tempRepo();
  writeFiles(src, { "b/x": "1", "a-b": "2", "a/z": "3", "a/y/w": "4" });
  Deno.symlinkSync("a/z", `${src}/link`);
  const s = await snap(repo, [src]);
  const paths: string[] = [];
  for await (const e of walkSnapshot(repo, s.tree)) paths.push(e.path);
  const under = paths.filter((p) => p.startsWith(src + "/")).map((p) => p.slice(src.length));
  assertEquals(under, ["/a", "/a/y", "/a/y/w", "/a/z", "/a-b", "/b", "/b/x", "/link"]);
  // Ancestors of the source come first, each once.
  assertEquals(
    paths.slice(0, paths.indexOf(src) + 1),
    splitPath(src).map((_, i, all) => "/" + all.slice(0, i + 1).join("/")),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("walkSnapshot() with a prefix and enter() walks part of a tree", async () => {
  const { dir, src, repo } = await tempRepo();
  writeFiles(src, { "a/1": "1", "a/deep/2": "2", "b/3": "3" });
  const s = await snap(repo, [src]);
  const a = await findPath(repo, s, `${src}/a`);
  const got: string[] = [];
  for await (
    const e of walkSnapshot(repo, a!.subtree!, {
      prefix: `${src}/a`,
      enter: (e) => e.node.name !== "deep",
    })
  ) got.push(e.path);
  assertEquals(got, [`${src}/a/1`, `${src}/a/deep`]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("findPath() finds files, directories and the root, and nothing else", async () => {
  const { dir, src, repo } = await tempRepo();
  writeFiles(src, { "d/f.txt": "hello" });
  const s = await snap(repo, [src]);
  const f = await findPath(repo, s, `${src}/d/f.txt`);
  assertEquals([f?.type, f?.size, f?.name], ["file", 5, "f.txt"]);
  assertEquals((await findPath(repo, s, `${src}//d/./`))?.type, "dir");
  assertEquals((await findPath(repo, s, "/"))?.subtree, s.tree);
  assertEquals(await findPath(repo, s, `${src}/missing`), undefined);
  assertEquals(await findPath(repo, s, `${src}/d/f.txt/below`), undefined);
  assertEquals((await findPath(repo, s, `${src}/d/../d/f.txt`))?.name, "f.txt");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("walkSnapshot() walks a 2,000-level tree without running out of stack", async () => {
  const h = await hostileRepo();
  const root = deepTree(h, 2000);
  await h.snapshot(root);
  let count = 0;
  let last = "";
  for await (const e of walkSnapshot(h.repo, root)) {
    count++;
    last = e.path;
  }
  assertEquals(count, 2001);
  assertEquals(last, "/d".repeat(2000) + "/f");
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("walkSnapshot() stops with one line once shared subtrees pass the entry limit", async () => {
  const h = await hostileRepo();
  const root = doublingTree(h, 14);
  await h.snapshot(root);
  let count = 0;
  const err = await assertRejects(async () => {
    for await (const _ of walkSnapshot(h.repo, root, { budget: new WalkBudget({ limit: 5000 }) })) {
      count++;
    }
  }, WalkLimitError);
  assertEquals(count, 5000);
  assertEquals(err.message.includes("\n"), false);
  assertStringIncludes(err.message, "Stopped after 5000 entries");
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("walkSnapshot() lets a timer abort a walk over cached trees", async () => {
  const h = await hostileRepo();
  const root = doublingTree(h, 17); // 262,142 entries, in 18 cached trees
  await h.snapshot(root);
  const abort = new AbortController();
  let count = 0;
  await assertRejects(
    async () => {
      for await (const _ of walkSnapshot(h.repo, root, { signal: abort.signal })) {
        if (count++ === 0) setTimeout(() => abort.abort(new Error("interrupted")), 0);
      }
    },
    Error,
    "interrupted",
  );
  assert(count < 100_000, `${count} entries walked after the abort was due`);
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("walkSnapshot() refuses a tree that contains itself", async () => {
  // Content addressing makes this impossible to store; a damaged reader must still not loop.
  const trees: Record<string, Tree> = {
    r: { nodes: [rawNode("x", "dir", { subtree: "s" }) as Node] },
    s: { nodes: [rawNode("y", "dir", { subtree: "r" }) as Node] },
  };
  const source = { loadTree: (id: string) => Promise.resolve(trees[id]) };
  const seen: string[] = [];
  await assertRejects(
    async () => {
      for await (const e of walkSnapshot(source, "r")) seen.push(e.path);
    },
    WalkLimitError,
    "tree r at /x/y contains itself",
  );
  assertEquals(seen, ["/x", "/x/y"]);
});
