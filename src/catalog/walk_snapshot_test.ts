import { assertEquals } from "../testing/asserts.ts";
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
