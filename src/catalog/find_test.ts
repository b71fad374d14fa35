import { type Repository, WalkLimitError } from "../repo/mod.ts";
import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { doublingTree, hostileRepo } from "../testing/hostile_repo.ts";
import { find } from "./find.ts";
import { snap, tempRepo, writeFiles } from "./_testing.ts";

function countLoads(repo: Repository): { n: number } {
  const c = { n: 0 };
  const real = repo.loadTree.bind(repo);
  repo.loadTree = (id) => {
    c.n++;
    return real(id);
  };
  return c;
}

Deno.test("find() tells which snapshots hold matching paths, and their versions", async () => {
  const { dir, src, repo } = await tempRepo();
  writeFiles(src, { "notes.txt": "v1", "keep.txt": "k", "sub/other.md": "o" });
  const s1 = await snap(repo, [src], new Date("2024-01-01T00:00:00Z"));
  Deno.writeTextFileSync(`${src}/notes.txt`, "version 2");
  const s2 = await snap(repo, [src], new Date("2024-01-02T00:00:00Z"));
  Deno.removeSync(`${src}/notes.txt`);
  const s3 = await snap(repo, [src], new Date("2024-01-03T00:00:00Z"));

  const r = await find(repo, [s1, s2, s3], "*.txt");
  assertEquals(
    r.bySnapshot.map((m) => [m.snapshot.id, m.matches.map((x) => x.path)]),
    [
      [s1.id, [`${src}/keep.txt`, `${src}/notes.txt`]],
      [s2.id, [`${src}/keep.txt`, `${src}/notes.txt`]],
      [s3.id, [`${src}/keep.txt`]],
    ],
  );
  assertEquals(r.byPath.map((p) => p.path), [`${src}/keep.txt`, `${src}/notes.txt`]);
  const keep = r.byPath[0].versions;
  assertEquals(keep.map((v) => v.snapshots), [[s1.id, s2.id, s3.id]]);
  const notes = r.byPath[1].versions;
  assertEquals(notes.map((v) => [v.snapshots, v.node.size]), [[[s1.id], 2], [[s2.id], 9]]);
  assertEquals([notes[1].first, notes[1].last], [s2.time, s2.time]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("find() with a path glob matches whole paths and skips unrelated subtrees", async () => {
  const { dir, src, repo } = await tempRepo();
  writeFiles(src, { "a/x.md": "1", "b/x.md": "2", "b/deep/er/x.md": "3" });
  const s = await snap(repo, [src]);
  const r = await find(repo, [s], `${src}/b/*.md`);
  assertEquals(r.byPath.map((p) => p.path), [`${src}/b/x.md`]);
  const dirs = await find(repo, [s], `${src}/*`);
  assertEquals(dirs.byPath.map((p) => [p.path, p.versions[0].node.type]), [
    [`${src}/a`, "dir"],
    [`${src}/b`, "dir"],
  ]);
  assertEquals((await find(repo, [s], "nothing-*")).bySnapshot, []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("find() reads a subtree shared by many snapshots once", async () => {
  const { dir, src, repo } = await tempRepo();
  writeFiles(src, { "stable/a/b/c/d.txt": "d", "moving.txt": "0" });
  const snaps = [];
  for (let i = 0; i < 5; i++) {
    Deno.writeTextFileSync(`${src}/moving.txt`, `${i}`);
    snaps.push(await snap(repo, [src], new Date(Date.UTC(2024, 0, i + 1))));
  }
  const loads = countLoads(repo);
  const r = await find(repo, snaps, "d.txt");
  assertEquals(r.bySnapshot.length, 5);
  assertEquals(r.byPath[0].versions.length, 1);
  const depth = src.split("/").length; // trees from / down to src
  // First snapshot: every tree; later ones: only the changed spine down to src.
  assertEquals(loads.n, depth + 4 + 4 * depth);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("find() stops once matches copied from shared subtrees pass the entry limit", async () => {
  const h = await hostileRepo();
  const s = await h.repo.loadSnapshot(await h.snapshot(doublingTree(h, 14)));
  // 14 trees to read, but 16,384 places a match for "f" is copied to.
  await assertRejects(() => find(h.repo, [s], "f", { maxEntries: 3000 }), WalkLimitError);
  const fine = await find(h.repo, [s], "f", { maxEntries: 100_000 });
  assertEquals(fine.byPath.length, 2 ** 14);
  await Deno.remove(h.dir, { recursive: true });
});
