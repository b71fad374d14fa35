import { LocalBackend } from "../backend/mod.ts";
import { Repository, type Tree } from "../repo/mod.ts";
import { assert, assertEquals, assertNotEquals } from "../testing/asserts.ts";
import { backup, type BackupOptions } from "./archiver.ts";

const FAST = { kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 } };

/**
 * A repository and a source tree `src/sub/{a,b}` whose entries are settled
 * (their ctimes lie in a second before the backups start), with every tree
 * load recorded.
 */
async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "cairn-dircache-" });
  const repo = await Repository.init(await LocalBackend.create(`${dir}/repo`), "pw", FAST);
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/sub`, { recursive: true });
  await Deno.writeTextFile(`${src}/top.txt`, "top");
  await Deno.writeTextFile(`${src}/sub/a.txt`, "alpha");
  await Deno.writeTextFile(`${src}/sub/b.txt`, "bravo");
  await settle();
  const loads: string[] = [];
  const load = repo.loadTree.bind(repo);
  repo.loadTree = (id: string): Promise<Tree> => {
    loads.push(id);
    return load(id);
  };
  const opts: BackupOptions = {
    paths: [src],
    host: "h",
    workers: 1,
    dirCache: { file: `${dir}/cache/dirs`, repo: repo.config.id },
  };
  return { dir, repo, src, loads, opts };
}

/** Waits into the next whole second, so what was just written counts as settled. */
async function settle() {
  await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
}

/** The tree id of `src/sub` in a snapshot whose source tree is `srcTree`. */
async function subTree(repo: Repository, srcTree: string): Promise<string> {
  return (await repo.loadTree(srcTree)).nodes.find((n) => n.name === "sub")!.subtree!;
}

/** The tree id of the source directory in a snapshot. */
async function srcTree(repo: Repository, root: string, src: string): Promise<string> {
  let id = root;
  for (const part of src.split("/").filter(Boolean)) {
    id = (await repo.loadTree(id)).nodes.find((n) => n.name === part)!.subtree!;
  }
  return id;
}

Deno.test("an unchanged rerun takes the cached trees without loading the parent's trees below the sources", async () => {
  const { repo, src, loads, opts } = await setup();
  const first = await backup(repo, opts);
  const parent = { ...first.snapshot, id: first.id };
  const src1 = await srcTree(repo, first.snapshot.tree, src);
  const sub1 = await subTree(repo, src1);
  loads.length = 0;
  const second = await backup(repo, { ...opts, parent });
  assertEquals(await srcTree(repo, second.snapshot.tree, src), src1);
  assertEquals(second.summary.files_unmodified, 3);
  assertEquals(second.summary.dirs, 2);
  assert(!loads.includes(src1) && !loads.includes(sub1), "the source's trees were not loaded");

  // Without the cache the same rerun loads them and comes to the same tree.
  loads.length = 0;
  const plain = await backup(repo, { ...opts, dirCache: undefined, parent });
  assertEquals(await srcTree(repo, plain.snapshot.tree, src), src1);
  assert(loads.includes(src1) && loads.includes(sub1));
});

Deno.test("a file changed with its size and mtime kept (only its ctime moves) is read again despite the cache", async () => {
  const { repo, src, opts } = await setup();
  const first = await backup(repo, opts);
  const before = await Deno.stat(`${src}/sub/a.txt`);
  await Deno.writeTextFile(`${src}/sub/a.txt`, "ALPHA");
  await Deno.utime(`${src}/sub/a.txt`, before.atime!, before.mtime!);
  const after = await Deno.stat(`${src}/sub/a.txt`);
  assertEquals([after.size, after.mtime?.getTime()], [before.size, before.mtime?.getTime()]);
  const second = await backup(repo, { ...opts, parent: { ...first.snapshot, id: first.id } });
  assertEquals(second.summary.files_changed, 1);
  assertEquals(second.summary.files_unmodified, 2);
  const sub = await repo.loadTree(
    await subTree(repo, await srcTree(repo, second.snapshot.tree, src)),
  );
  const a = sub.nodes.find((n) => n.name === "a.txt")!;
  const bytes = await repo.loadBlob("data", a.content![0]);
  assertEquals(new TextDecoder().decode(bytes), "ALPHA");
});

Deno.test("a tampered directory cache is ignored: the parent's trees are loaded and compared", async () => {
  const { repo, src, loads, opts } = await setup();
  const first = await backup(repo, opts);
  const file = opts.dirCache!.file;
  const bytes = await Deno.readFile(file);
  // Point the source's subdirectory at another tree id of the same length, keeping the MAC.
  const text = new TextDecoder().decode(bytes.subarray(0, bytes.length - 32));
  const src1 = await srcTree(repo, first.snapshot.tree, src);
  const sub1 = await subTree(repo, src1);
  assert(text.includes(sub1));
  const forged = new TextEncoder().encode(text.replaceAll(sub1, src1));
  await Deno.writeFile(file, new Uint8Array([...forged, ...bytes.subarray(bytes.length - 32)]));
  loads.length = 0;
  const second = await backup(repo, { ...opts, parent: { ...first.snapshot, id: first.id } });
  assertEquals(await srcTree(repo, second.snapshot.tree, src), src1);
  assert(loads.includes(src1) && loads.includes(sub1), "the cache was not used");
});

Deno.test("a directory cache written for another snapshot is not used", async () => {
  const { repo, src, loads, opts } = await setup();
  const first = await backup(repo, opts);
  const parent = { ...first.snapshot, id: first.id };
  await backup(repo, { ...opts, parent }); // the cache is now the second snapshot's
  const src1 = await srcTree(repo, first.snapshot.tree, src);
  loads.length = 0;
  const third = await backup(repo, { ...opts, parent });
  assertEquals(await srcTree(repo, third.snapshot.tree, src), src1);
  assert(loads.includes(src1), "the cache of the second snapshot was not used for the first");
});

Deno.test("a new file in a subdirectory gives a new tree up to the root, the rest kept from the cache", async () => {
  const { repo, src, opts } = await setup();
  await Deno.mkdir(`${src}/other`);
  await Deno.writeTextFile(`${src}/other/c.txt`, "charlie");
  await settle();
  const first = await backup(repo, opts);
  await Deno.writeTextFile(`${src}/sub/new.txt`, "new");
  const second = await backup(repo, { ...opts, parent: { ...first.snapshot, id: first.id } });
  assertEquals([second.summary.files_new, second.summary.files_unmodified], [1, 4]);
  const src1 = await repo.loadTree(await srcTree(repo, first.snapshot.tree, src));
  const src2 = await repo.loadTree(await srcTree(repo, second.snapshot.tree, src));
  const by = (t: Tree, name: string) => t.nodes.find((n) => n.name === name)!;
  assertEquals(by(src2, "other").subtree, by(src1, "other").subtree);
  assertNotEquals(by(src2, "sub").subtree, by(src1, "sub").subtree);
  assertEquals(by(src2, "top.txt"), by(src1, "top.txt"));
  const sub2 = await repo.loadTree(by(src2, "sub").subtree!);
  assertEquals(sub2.nodes.map((n) => n.name), ["a.txt", "b.txt", "new.txt"]);
});

Deno.test("a file with two names, one in a directory the cache kept and one in a changed directory, is counted once", async () => {
  const { repo, src, opts } = await setup();
  await Deno.mkdir(`${src}/a1`);
  await Deno.mkdir(`${src}/z2`);
  await Deno.writeTextFile(`${src}/a1/x.txt`, "linked");
  await Deno.link(`${src}/a1/x.txt`, `${src}/z2/y.txt`);
  await settle();
  const first = await backup(repo, opts);
  assertEquals([first.summary.files_new, first.summary.files_unmodified], [4, 0]);
  await Deno.writeTextFile(`${src}/z2/new.txt`, "new");
  const second = await backup(repo, { ...opts, parent: { ...first.snapshot, id: first.id } });
  assertEquals([second.summary.files_new, second.summary.files_unmodified], [1, 4]);
  const z2 = await repo.loadTree(
    (await repo.loadTree(await srcTree(repo, second.snapshot.tree, src))).nodes.find((n) =>
      n.name === "z2"
    )!.subtree!,
  );
  assertEquals(z2.nodes.map((n) => n.name), ["new.txt", "y.txt"]);
});
