import type { MirrorEntry } from "../archiver/mod.ts";
import { MIRROR_TEMP_PREFIX, MirrorFileWriter } from "./file_writer.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { MirrorTree } from "./mirror_tree.ts";

const T1 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
const T2 = Date.UTC(2023, 5, 6, 7, 8, 9, 10);
const ME = { uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0 };

function entry(mode: number, mtimeMs: number, size = 0): MirrorEntry {
  return { size, mtimeMs, mode, ...ME };
}

/** The directory a target's path leads into (a held directory's `/proc/self/fd/N`, resolved). */
function dirOf(path: string): string {
  return Deno.realPathSync(path.slice(0, path.lastIndexOf("/")));
}

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("MirrorTree builds a new directory out of sight and moves it into place whole", async () => {
  const root = await Deno.makeTempDir();
  const errors: string[] = [];
  const tree = new MirrorTree({
    root,
    purge: true,
    onError: (path, message) => errors.push(`${path}: ${message}`),
  });
  const top = tree.root(undefined, ["new"]);
  const sub = top.child("new", entry(0o750, T1), ["f", "deep", "l"])!;
  // Built beside its own name, under a temp name that a crash leaves for the next run to remove.
  assertEquals(sub.path.slice(0, sub.path.lastIndexOf("/")), root);
  assert(sub.path.slice(root.length + 1).startsWith(MIRROR_TEMP_PREFIX));
  assertEquals(names(root), [sub.path.slice(root.length + 1)]);

  const f = sub.file("f", entry(0o640, T2, 3))!;
  assertEquals([f.fresh, dirOf(f.path), f.path.endsWith("/f")], [true, sub.path, true]);
  const w = new MirrorFileWriter(f);
  w.write(new TextEncoder().encode("abc"));
  w.commit();
  tree.written(f, 3);
  // Inside the new directory everything is new: no temp name of its own.
  const deep = sub.child("deep", entry(0o700, T2), ["g"])!;
  assertEquals(deep.path, `${sub.path}/deep`);
  const g = deep.file("g", entry(0o644, T2, 10))!;
  // A worker that failed midway and left its file: the tree removes it.
  Deno.writeTextFileSync(g.path, "half");
  tree.written(g, 0, "read error");
  sub.symlink("l", "f");
  deep.done();
  sub.done();
  top.done();
  await tree.finish();

  assertEquals(names(root), ["new"]);
  const st = Deno.lstatSync(`${root}/new`);
  assertEquals([st.mode! & 0o7777, st.mtime!.getTime()], [0o750, T1]);
  const fst = Deno.lstatSync(`${root}/new/f`);
  assertEquals([fst.mode! & 0o7777, fst.mtime!.getTime()], [0o640, T2]);
  assertEquals(Deno.readTextFileSync(`${root}/new/f`), "abc");
  assertEquals(Deno.readLinkSync(`${root}/new/l`), "f");
  assertEquals(names(`${root}/new/deep`), []);
  // The failure names the file where it will be, not the temp directory.
  assertEquals(errors, [`${root}/new/deep/g: not mirrored: read error`]);
  assertEquals([tree.stats.written, tree.stats.dirs, tree.stats.symlinks], [1, 2, 1]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("MirrorTree writes beside an existing file through a temp file, not fresh", async () => {
  const root = await Deno.makeTempDir();
  Deno.mkdirSync(`${root}/old`);
  Deno.writeTextFileSync(`${root}/old/f`, "stale");
  const tree = new MirrorTree({ root, purge: true });
  const top = tree.root(undefined, ["old"]);
  const old = top.child("old", entry(0o755, T1), ["f"])!;
  assertEquals(old.path, `${root}/old`);
  const f = old.file("f", entry(0o644, T2, 5))!;
  assertEquals([f.fresh, dirOf(f.path), f.path.endsWith("/f")], [undefined, `${root}/old`, true]);
  const w = new MirrorFileWriter(f);
  w.write(new TextEncoder().encode("fresh"));
  // Until the commit, the old bytes stay under the file's name.
  assertEquals(Deno.readTextFileSync(`${root}/old/f`), "stale");
  w.commit();
  assertEquals(Deno.readTextFileSync(`${root}/old/f`), "fresh");
  old.done();
  top.done();
  await tree.finish();
  assertEquals(names(`${root}/old`), ["f"]);
  await Deno.remove(root, { recursive: true });
});

Deno.test("MirrorTree removes a crashed run's temp directory even with purge off", async () => {
  const root = await Deno.makeTempDir();
  Deno.mkdirSync(`${root}/${MIRROR_TEMP_PREFIX}abc/deep`, { recursive: true });
  Deno.writeTextFileSync(`${root}/${MIRROR_TEMP_PREFIX}abc/deep/half`, "ha");
  Deno.writeTextFileSync(`${root}/keep.txt`, "not in the snapshot, kept without purge");
  const tree = new MirrorTree({ root, purge: false });
  tree.root(undefined, []).done();
  await tree.finish();
  assertEquals(names(root), ["keep.txt"]);
  await Deno.remove(root, { recursive: true });
});
