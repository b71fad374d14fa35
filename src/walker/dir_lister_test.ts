import { assert, assertEquals, assertThrows } from "../testing/asserts.ts";
import type { FileStat } from "../platform/mod.ts";
import { DirLister, prestartLister, walkOrder } from "./dir_lister.ts";
import { listDir } from "./list_dir.ts";

Deno.test("walkOrder() puts a directory before its contents and siblings in sorted order", () => {
  assertEquals(walkOrder("/a", "/a"), 0);
  assert(walkOrder("/a", "/a/b") < 0);
  assert(walkOrder("/a/b", "/a") > 0);
  assert(walkOrder("/a/z", "/b") < 0);
  assert(walkOrder("/a/b/c", "/a/c") < 0);
  assert(walkOrder("/a/B", "/a/a") < 0); // code unit order, as listDir sorts
  // By components, not characters: "/a/b" and all below it come before "/a/b-c".
  assert(walkOrder("/a/b-c", "/a/b/c") > 0);
});

/** A tree with files, nested and empty directories, a link, an excluded and a marked directory. */
async function makeTree(): Promise<string> {
  const root = await Deno.makeTempDir();
  for (const d of ["a/b/c", "a/empty", "b", "skip/inner", "marked/deep", "z"]) {
    await Deno.mkdir(`${root}/${d}`, { recursive: true });
  }
  for (const f of ["a/1", "a/b/2", "a/b/c/3", "b/4", "skip/inner/5", "marked/.nobackup", "z/6"]) {
    await Deno.writeTextFile(`${root}/${f}`, f);
  }
  await Deno.symlink("a", `${root}/link-to-a`);
  return root;
}

/** Walks `root` as the archiver does, taking each listing from `lister` when it has it. */
async function walk(lister: DirLister, root: string, skip: (path: string) => boolean) {
  const seen: string[] = [];
  const fromLister: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    const got = await lister.take(dir);
    const listing = got ?? listDir(dir);
    if (got) fromLister.push(dir);
    // The same entries and lstat facts as listing it here.
    const here = listDir(dir);
    assertEquals(listing.entries.map((e) => e.path), here.entries.map((e) => e.path));
    const facts = (i: FileStat) => [
      i.isFile,
      i.isDirectory,
      i.isSymlink,
      i.size,
      i.mtime?.getTime(),
      i.ctime?.getTime(),
      i.mtimeNs,
      i.ctimeNs, // not atime: the walk's own readdir moves a directory's
      i.mode,
      i.ino,
      i.dev,
      i.nlink,
    ];
    assertEquals(listing.entries.map((e) => facts(e.info)), here.entries.map((e) => facts(e.info)));
    seen.push(dir);
    if (listing.entries.some((e) => e.name === ".nobackup")) return;
    for (const e of listing.entries) if (e.info.isDirectory && !skip(e.path)) await visit(e.path);
  };
  lister.walk(root);
  await visit(root);
  return { seen, fromLister };
}

Deno.test("DirLister lists every directory the walk enters, ahead of it, with lstat facts", async () => {
  const root = await makeTree();
  const lister = new DirLister({ excludes: ["skip"], excludeIfPresent: [".nobackup"], window: 3 });
  try {
    const { seen, fromLister } = await walk(lister, root, (p) => p.endsWith("/skip"));
    assertEquals(seen.map((d) => d.slice(root.length)), [
      "",
      "/a",
      "/a/b",
      "/a/b/c",
      "/a/empty",
      "/b",
      "/marked",
      "/z",
    ]);
    // A window of 3 entries makes the worker pause and resume many times; it still lists all.
    assertEquals(fromLister, seen);
  } finally {
    lister.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("DirLister leaves to the caller what it did not list, and drops what the walk skips", async () => {
  const root = await makeTree();
  // Without the exclude rule, the worker lists skip/ and skip/inner, which the walk skips.
  const lister = new DirLister({ excludeIfPresent: [".nobackup"] });
  try {
    const { seen, fromLister } = await walk(lister, root, (p) => p.endsWith("/skip"));
    assert(!seen.some((d) => d.includes("/skip")));
    assertEquals(fromLister, seen);
  } finally {
    lister.close();
  }
  // A walk entering marked/deep, which the worker did not list (marker): listed by the caller.
  const other = new DirLister({ excludeIfPresent: [".nobackup"] });
  try {
    other.walk(root);
    assert(await other.take(root));
    assertEquals(await other.take(`${root}/marked/deep`), undefined);
    // Past it, the stream goes on.
    assert(await other.take(`${root}/z`));
  } finally {
    other.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("DirLister reports a directory it cannot list, and nothing after close()", async () => {
  const root = await makeTree();
  const lister = new DirLister();
  try {
    lister.walk(`${root}/a/1`); // a file: readdir fails
    const err = await lister.take(`${root}/a/1`).then(() => undefined, (e: Error) => e);
    assert(err instanceof Error);
    assertThrows(() => listDir(`${root}/a/1`));
    lister.walk(root);
    assert(await lister.take(root));
    lister.close();
    assertEquals(await lister.take(`${root}/a`), undefined);
  } finally {
    lister.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prestartLister() starts the worker the next DirLister lists with, and stops one left unused", async () => {
  const root = await makeTree();
  try {
    {
      using _spare = prestartLister();
      const lister = new DirLister({ excludes: ["skip"], excludeIfPresent: [".nobackup"] });
      try {
        const { seen, fromLister } = await walk(lister, root, (p) => p.endsWith("/skip"));
        assertEquals(fromLister, seen);
        assertEquals(seen.length, 8);
      } finally {
        lister.close();
      }
    }
    // Not taken by any lister: disposing stops it (a live worker would keep the test run from ending).
    using _unused = prestartLister();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
