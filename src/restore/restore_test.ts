import { findPath } from "../catalog/mod.ts";
import { CorruptError, type Repository, type Tree, WalkLimitError } from "../repo/mod.ts";
import { doublingTree, fileNode, hostileRepo } from "../testing/hostile_repo.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../testing/asserts.ts";
import { restore, type RestoreRepo } from "./mod.ts";
import { lstatOrNull } from "../fs/mod.ts";
import { rawNode } from "../testing/raw_node.ts";
import { handMadeSnapshot, listAll, snap, tempRepo, treeBytes } from "./_testing.ts";

const enc = new TextEncoder();
const T1 = new Date("2021-03-04T05:06:07.123Z");
const T2 = new Date("2019-12-31T23:59:59.500Z");

/** Builds the varied fixture tree under `src`; returns the paths of special interest. */
function buildFixture(src: string) {
  const w = (p: string, data: string | Uint8Array, mode = 0o644) => {
    Deno.writeFileSync(`${src}/${p}`, typeof data === "string" ? enc.encode(data) : data);
    Deno.chmodSync(`${src}/${p}`, mode);
  };
  Deno.mkdirSync(`${src}/a/b/c`, { recursive: true });
  w("a/b/c/file.txt", "nested\n", 0o640);
  w("a/run.sh", "#!/bin/sh\n", 0o755);
  w("a/suid", "x", 0o4755);
  Deno.mkdirSync(`${src}/empty`);
  Deno.symlinkSync("a/b/c/file.txt", `${src}/rel-link`);
  Deno.symlinkSync("does/not/exist", `${src}/dangling`);
  Deno.symlinkSync("/nonexistent-cairn-abs/target", `${src}/abs-link`);
  w("h1", "hard linked\n");
  Deno.linkSync(`${src}/h1`, `${src}/h2`);
  w("caf\u00e9", "nfc");
  w("cafe\u0301", "nfd");
  w("with space", "s");
  w("new\nline", "n");
  w(`quo"te'`, "q");
  w("x".repeat(255), "long ascii");
  w("é".repeat(127) + "x", "long multibyte"); // 255 bytes
  // Several chunks, so the content is streamed blob by blob.
  const big = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  w("big.bin", big);
  let deep = `${src}/deep`;
  for (let i = 0; i < 60; i++) deep += `/d${i}`;
  Deno.mkdirSync(deep, { recursive: true });
  Deno.writeTextFileSync(`${deep}/leaf`, "bottom");
  Deno.mkdirSync(`${src}/ro`);
  w("ro/inside", "r", 0o444);
  Deno.chmodSync(`${src}/ro`, 0o555);
  Deno.chmodSync(`${src}/a/b`, 0o750);
  // Times last, deepest first, so creating children does not bump them.
  const all = [...listAll(src).entries()].filter(([, st]) => !st.isSymlink);
  all.sort(([a], [b]) => b.split("/").length - a.split("/").length);
  for (const [p, st] of all) Deno.utimeSync(src + p, T2, st.isDirectory ? T2 : T1);
  Deno.utimeSync(src, T2, T2);
  return { big };
}

/** Checks `out` mirrors `src`: types, modes, times, contents, link targets. */
function assertSameTree(src: string, out: string, opts: { special: boolean }) {
  const a = listAll(src);
  const b = listAll(out);
  assertEquals([...b.keys()].sort(), [...a.keys()].sort());
  for (const [p, sa] of a) {
    const sb = b.get(p)!;
    const what = JSON.stringify(p);
    assertEquals(
      [sb.isFile, sb.isDirectory, sb.isSymlink],
      [sa.isFile, sa.isDirectory, sa.isSymlink],
      what,
    );
    if (sa.isSymlink) {
      assertEquals(Deno.readLinkSync(out + p), Deno.readLinkSync(src + p), what);
      continue;
    }
    const mode = sa.mode! & (opts.special ? 0o7777 : 0o777);
    assertEquals((sb.mode! & 0o7777).toString(8), mode.toString(8), `mode of ${what}`);
    assertEquals(sb.mtime?.getTime(), sa.mtime?.getTime(), `mtime of ${what}`);
    if (sa.isFile) assertEquals(Deno.readFileSync(out + p), Deno.readFileSync(src + p), what);
  }
}

Deno.test("restore() round-trips a varied tree", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  buildFixture(src);
  const s = await snap(repo, [src]);
  const big = await findPath(repo, s, `${src}/big.bin`);
  assert(big!.content!.length > 1, "the big file spans several blobs");
  const out = `${dir}/out`;
  const warnings: string[] = [];
  const r = await restore(repo, s, {
    target: out,
    onWarning: (p, m) => warnings.push(`${p}: ${m}`),
  });
  assertEquals(r.errors, []);
  assertSameTree(src, out + src, { special: false });
  // Only the setuid file is worth a warning.
  assertEquals(warnings, [
    `${src}/a/suid: setuid/setgid bits not restored (use --special to keep them)`,
  ]);
  assertEquals(Deno.lstatSync(`${out}${src}/a/suid`).mode! & 0o7777, 0o755);
  // Hard links come back as one inode, and unicode forms stay apart.
  const h1 = Deno.lstatSync(`${out}${src}/h1`);
  const h2 = Deno.lstatSync(`${out}${src}/h2`);
  assertEquals(h1.ino, h2.ino);
  assertEquals(h1.nlink, 2);
  assertEquals(Deno.readTextFileSync(`${out}${src}/caf\u00e9`), "nfc");
  assertEquals(Deno.readTextFileSync(`${out}${src}/cafe\u0301`), "nfd");
  assertEquals(
    r.bytes,
    3 * 1024 * 1024 + 17 + [...listAll(src).entries()]
      .filter(([p, st]) => st.isFile && p !== "/big.bin" && p !== "/h2")
      .reduce((n, [, st]) => n + st.size, 0),
  );
  // The absolute link was restored as a link, not followed.
  assertEquals(Deno.readLinkSync(`${out}${src}/abs-link`), "/nonexistent-cairn-abs/target");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() needs only a RestoreRepo: trees and blobs, nothing else of Repository", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/sub`, { recursive: true });
  Deno.writeTextFileSync(`${src}/sub/f`, "through the narrow interface\n");
  const s = await snap(repo, [src]);
  const calls: string[] = [];
  const narrow: RestoreRepo = {
    loadTree: (id) => (calls.push("tree"), repo.loadTree(id)),
    loadBlob: (type, id) => (calls.push(type), repo.loadBlob(type, id)),
  };
  const r = await restore(narrow, s, { target: `${dir}/out` });
  assertEquals(r.errors, []);
  assertEquals(Deno.readTextFileSync(`${dir}/out${src}/sub/f`), "through the narrow interface\n");
  assert(calls.includes("tree") && calls.includes("data"), calls.join());
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() with special keeps setuid bits and recreates FIFOs", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  Deno.writeTextFileSync(`${src}/suid`, "x");
  Deno.chmodSync(`${src}/suid`, 0o4711);
  const mk = await new Deno.Command("mkfifo", { args: ["-m", "640", `${src}/fifo`] }).output();
  assert(mk.success);
  const s = await snap(repo, [src]);

  const plain = await restore(repo, s, { target: `${dir}/plain` });
  assertEquals(plain.warnings.map((w) => w.path).sort(), [`${src}/fifo`, `${src}/suid`]);
  assertEquals([...listAll(`${dir}/plain${src}`).keys()], ["/suid"]);

  const special = await restore(repo, s, { target: `${dir}/special`, special: true });
  assertEquals(special.warnings, []);
  const fifo = Deno.lstatSync(`${dir}/special${src}/fifo`);
  assert(fifo.isFifo);
  assertEquals(fifo.mode! & 0o7777, 0o640);
  assertEquals(Deno.lstatSync(`${dir}/special${src}/suid`).mode! & 0o7777, 0o4711);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "restore() restores owners when running as root",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const { dir, repo } = await tempRepo();
    const src = `${dir}/src`;
    Deno.mkdirSync(`${src}/d`, { recursive: true });
    Deno.writeTextFileSync(`${src}/d/f`, "x");
    Deno.chownSync(`${src}/d/f`, 1234, 2345);
    Deno.chownSync(`${src}/d`, 3456, 4567);
    const s = await snap(repo, [src]);
    await restore(repo, s, { target: `${dir}/out` });
    const f = Deno.lstatSync(`${dir}/out${src}/d/f`);
    const d = Deno.lstatSync(`${dir}/out${src}/d`);
    assertEquals([f.uid, f.gid, d.uid, d.gid], [1234, 2345, 3456, 4567]);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("restore() with include picks a subtree and the parents of matching files", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/docs/sub`, { recursive: true });
  Deno.mkdirSync(`${src}/other`);
  Deno.writeTextFileSync(`${src}/docs/sub/a.txt`, "a");
  Deno.writeTextFileSync(`${src}/docs/b.md`, "b");
  Deno.writeTextFileSync(`${src}/other/c.txt`, "c");
  Deno.writeTextFileSync(`${src}/other/d.md`, "d");
  const s = await snap(repo, [src]);

  const byDir = await restore(repo, s, { target: `${dir}/o1`, include: [`${src}/docs`] });
  assertEquals([...listAll(`${dir}/o1${src}`).keys()].sort(), [
    "/docs",
    "/docs/b.md",
    "/docs/sub",
    "/docs/sub/a.txt",
  ]);
  assertEquals(byDir.files, 2);

  await restore(repo, s, { target: `${dir}/o2`, include: ["*.txt"] });
  assertEquals([...listAll(`${dir}/o2${src}`).keys()].sort(), [
    "/docs",
    "/docs/sub",
    "/docs/sub/a.txt",
    "/other",
    "/other/c.txt",
  ]);

  await restore(repo, s, { target: `${dir}/o3`, include: [`${src}/other/*.md`] });
  assertEquals([...listAll(`${dir}/o3${src}`).keys()].sort(), ["/other", "/other/d.md"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() never writes through a symlink already in the target", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/sub`, { recursive: true });
  Deno.writeTextFileSync(`${src}/sub/inner`, "inner");
  Deno.writeTextFileSync(`${src}/file`, "restored");
  const s = await snap(repo, [src]);

  const outside = `${dir}/outside`;
  Deno.mkdirSync(outside);
  Deno.writeTextFileSync(`${outside}/victim`, "untouched");
  const out = `${dir}/out`;
  Deno.mkdirSync(out + src, { recursive: true });
  // Where a directory and a file will go, links lead out of the target.
  Deno.symlinkSync(outside, `${out}${src}/sub`);
  Deno.symlinkSync(`${outside}/victim`, `${out}${src}/file`);

  const r = await restore(repo, s, { target: out });
  assertEquals(r.errors, []);
  assertEquals([...listAll(outside).keys()], ["/victim"]);
  assertEquals(Deno.readTextFileSync(`${outside}/victim`), "untouched");
  assert(Deno.lstatSync(`${out}${src}/sub`).isDirectory);
  assert(Deno.lstatSync(`${out}${src}/file`).isFile);
  assertEquals(Deno.readTextFileSync(`${out}${src}/file`), "restored");
  assertEquals(Deno.readTextFileSync(`${out}${src}/sub/inner`), "inner");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() does not follow a restored symlink when a later entry shares its name", async () => {
  // A snapshot with a link `l` -> outside, and (in a second snapshot restored
  // on top) a directory `l` with a file: the second restore must replace the link.
  const { dir, repo } = await tempRepo();
  const outside = `${dir}/outside`;
  Deno.mkdirSync(outside);
  const first = await handMadeSnapshot(
    repo,
    (put) => put("tree", treeBytes([rawNode("l", "symlink", { target: outside })])),
  );
  const data = new TextEncoder().encode("payload");
  const second = await handMadeSnapshot(repo, (put) => {
    const blob = put("data", data);
    const sub = put("tree", treeBytes([rawNode("f", "file", { size: 7, content: [blob] })]));
    return put("tree", treeBytes([rawNode("l", "dir", { mode: 0o755, subtree: sub })]));
  });
  const out = `${dir}/out`;
  await restore(repo, first, { target: out });
  assertEquals(Deno.readLinkSync(`${out}/l`), outside);
  const r = await restore(repo, second, { target: out });
  assertEquals(r.errors, []);
  assertEquals([...listAll(outside).keys()], []);
  assertEquals(Deno.readTextFileSync(`${out}/l/f`), "payload");
  await Deno.remove(dir, { recursive: true });
});

async function assertHostileRefused(repo: Repository, dir: string, name: string) {
  const data = new TextEncoder().encode("evil");
  // A good file first, then a directory whose listing holds the hostile name.
  const s = await handMadeSnapshot(repo, (put) => {
    const blob = put("data", data);
    const file = (n: string) => rawNode(n, "file", { size: 4, content: [blob] });
    const evil = put("tree", treeBytes([file(name), file("z")]));
    return put("tree", treeBytes([file("a"), rawNode("b", "dir", { mode: 0o755, subtree: evil })]));
  });
  const before = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  const out = `${dir}/deep/target`;
  const err = await assertRejects(() => restore(repo, s, { target: out }), CorruptError);
  assertStringIncludes(err.message, JSON.stringify(name));
  // Nothing beside the target was created, and in it only what came before the bad tree.
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [...before, "deep"].sort());
  assertEquals([...Deno.readDirSync(`${dir}/deep`)].map((e) => e.name), ["target"]);
  assertEquals([...listAll(out).keys()].sort(), ["/a", "/b"]);
}

Deno.test("restore() refuses a tree with a node named '..' or 'a/b'", async () => {
  for (const name of ["..", "a/b", "../../escape", ".", "x\0y"]) {
    const { dir, repo } = await tempRepo();
    await assertHostileRefused(repo, dir, name);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("restore() re-checks names even when the tree loader lets one through", async () => {
  const { dir, repo } = await tempRepo();
  const data = new TextEncoder().encode("evil");
  const s = await handMadeSnapshot(repo, (put) => {
    const blob = put("data", data);
    return put("tree", treeBytes([rawNode("ok", "file", { size: 4, content: [blob] })]));
  });
  const real = repo.loadTree.bind(repo);
  repo.loadTree = async (id: string): Promise<Tree> => {
    const t = await real(id);
    return { nodes: t.nodes.map((n) => ({ ...n, name: "../escaped" })) };
  };
  const out = `${dir}/t/out`;
  const err = await assertRejects(() => restore(repo, s, { target: out }), CorruptError);
  assertStringIncludes(err.message, "not a single path component");
  assertEquals([...Deno.readDirSync(`${dir}/t`)].map((e) => e.name), ["out"]);
  assertEquals([...Deno.readDirSync(out)], []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() records a file with damaged content as an error and goes on", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  Deno.writeTextFileSync(`${src}/a`, "aaaa");
  Deno.writeTextFileSync(`${src}/b`, "bbbb");
  const s = await snap(repo, [src]);
  const real = repo.loadBlob.bind(repo);
  let calls = 0;
  repo.loadBlob = (type, id) => {
    if (type === "data" && calls++ === 0) {
      return Promise.reject(new CorruptError(`data blob ${id} is damaged: authentication failed`));
    }
    return real(type, id);
  };
  // On the calling thread: the workers read segments, not repo.loadBlob (next test).
  const r = await restore(repo, s, { target: `${dir}/out`, workers: 0 });
  assertEquals(r.errors.map((e) => e.path), [`${src}/a`]);
  assertStringIncludes(r.errors[0].message, "damaged");
  // The damaged file is not left half-written; the next one is restored.
  assertEquals([...listAll(`${dir}/out${src}`).keys()], ["/b"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() in workers records a file whose segment is damaged and writes the rest", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  // Each above SEGMENT_ALONE, so each is a segment of its own.
  const random = new Uint8Array(300 * 1024);
  for (let i = 0; i < random.length; i += 65536) {
    crypto.getRandomValues(random.subarray(i, i + 65536));
  }
  // Incompressible, so the segment read is as large as the file.
  const bytes = (c: number) => random.map((x) => x ^ c);
  Deno.writeFileSync(`${src}/a`, bytes(1));
  Deno.writeFileSync(`${src}/b`, bytes(2));
  const s = await snap(repo, [src]);
  const backend = repo.backend;
  const real = backend.load.bind(backend);
  let calls = 0;
  backend.load = async (type, name, range, o) => {
    const b = await real(type, name, range, o);
    // The first file segment read (trees are in packs too, in small segments).
    if (type === "data" && (range?.length ?? 0) > 256 * 1024 && calls++ === 0) {
      b[b.length - 1] ^= 1;
    }
    return b;
  };
  const r = await restore(repo, s, { target: `${dir}/out`, workers: 2 });
  assertEquals(r.errors.length, 1);
  assertStringIncludes(r.errors[0].message, "damaged: authentication failed");
  const good = r.errors[0].path === `${src}/a` ? "/b" : "/a";
  assertEquals([...listAll(`${dir}/out${src}`).keys()], [good], "no half-written file is left");
  assertEquals(Deno.readFileSync(`${dir}/out${src}${good}`), bytes(good === "/a" ? 1 : 2));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() in workers writes many small files in batches, each with its bytes, mode and time", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  // More files and directories than one batch takes, some empty, one above the batch size.
  const want = new Map<string, { data: Uint8Array; mode: number }>();
  for (let d = 0; d < 20; d++) {
    Deno.mkdirSync(`${src}/d${d}`, { recursive: true });
    for (let f = 0; f < 14; f++) {
      const data = enc.encode(f === 0 ? "" : `file ${d}/${f} `.repeat(d * f));
      const path = `/d${d}/f${f}`;
      want.set(path, { data, mode: f % 2 ? 0o640 : 0o755 });
    }
  }
  const big = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 7) & 0xff);
  want.set("/d3/big", { data: big, mode: 0o600 });
  for (const [path, { data, mode }] of want) {
    Deno.writeFileSync(`${src}${path}`, data);
    Deno.chmodSync(`${src}${path}`, mode);
    Deno.utimeSync(`${src}${path}`, T2, T1);
  }
  const s = await snap(repo, [src]);
  const out = `${dir}/out`;
  const r = await restore(repo, s, { target: out, workers: 2 });
  assertEquals(r.errors, []);
  assertEquals(r.files, want.size);
  for (const [path, { data, mode }] of want) {
    const at = `${out}${src}${path}`;
    assertEquals(Deno.readFileSync(at), data, path);
    const st = Deno.lstatSync(at);
    assertEquals(st.mode! & 0o777, mode, path);
    assertEquals(st.mtime?.getTime(), T1.getTime(), path);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() stops when aborted", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  Deno.writeTextFileSync(`${src}/a`, "a");
  const s = await snap(repo, [src]);
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await assertRejects(
    () => restore(repo, s, { target: `${dir}/out`, signal: ac.signal }),
    Error,
    "stop",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() skips sockets and devices with a warning; special devices need root", async () => {
  const { dir, repo } = await tempRepo();
  const s = await handMadeSnapshot(repo, (put) =>
    put(
      "tree",
      treeBytes([
        rawNode("null", "chardev", { rdev: (1 << 8) | 3, mode: 0o666 }),
        rawNode("sock", "socket"),
      ]),
    ));
  const plain = await restore(repo, s, { target: `${dir}/plain` });
  assertEquals(plain.warnings.map((w) => [w.path, w.message]), [
    ["/null", "device node not restored (use --special to restore it)"],
    ["/sock", "socket not restored: a socket belongs to a running program"],
  ]);
  assertEquals([...listAll(`${dir}/plain`).keys()], []);

  const special = await restore(repo, s, { target: `${dir}/special`, special: true });
  const made = lstatOrNull(`${dir}/special/null`);
  if (made) {
    // Root with CAP_MKNOD: a real character device 1,3 with the node's mode.
    assert(made.isCharDevice);
    assertEquals(made.mode! & 0o777, 0o666);
    assertEquals(made.rdev, (1 << 8) | 3);
  } else {
    // Without root (or in a container without CAP_MKNOD) it is a warning, not an error.
    assertEquals(special.errors, []);
    assert(special.warnings.some((w) => w.path === "/null"));
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() stops with one line once shared subtrees pass the entry limit", async () => {
  const h = await hostileRepo();
  // 32,766 entries in 14 trees; a real limit is far higher, and so is the tree then.
  const s = await h.repo.loadSnapshot(await h.snapshot(doublingTree(h, 14)));
  const err = await assertRejects(
    () => restore(h.repo, s, { target: `${h.dir}/out`, maxEntries: 3000 }),
    WalkLimitError,
    "Stopped after 3000 entries",
  );
  assertEquals(err.message.includes("\n"), false);
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("restore() loads a blob a file repeats once, and refuses a size its blobs deny", async () => {
  const h = await hostileRepo();
  const mib = h.put("data", new Uint8Array(1024 * 1024));
  const root = h.tree([
    fileNode("big", Array(200).fill(mib), 200 * 1024 * 1024),
    fileNode("liar", Array(200).fill(mib), 5),
  ]);
  const s = await h.repo.loadSnapshot(await h.snapshot(root));
  const loads: Record<string, number> = {};
  const real = h.repo.loadBlob.bind(h.repo);
  h.repo.loadBlob = (type, id) => {
    loads[type] = (loads[type] ?? 0) + 1;
    return real(type, id);
  };
  const r = await restore(h.repo, s, { target: `${h.dir}/out`, workers: 0 });
  assertEquals(r.errors, [{
    path: "/liar",
    message: "content is 209715200 bytes, but the snapshot says 5",
  }]);
  assertEquals(Deno.statSync(`${h.dir}/out/big`).size, 200 * 1024 * 1024);
  assertEquals(lstatOrNull(`${h.dir}/out/liar`), null);
  assertEquals(loads.data, 1);
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("restore() in workers reads a blob a file repeats once, and refuses a size its blobs deny", async () => {
  const h = await hostileRepo();
  const mib = h.put("data", new Uint8Array(1024 * 1024));
  const root = h.tree([
    fileNode("big", Array(200).fill(mib), 200 * 1024 * 1024),
    fileNode("liar", Array(200).fill(mib), 5),
  ]);
  const s = await h.repo.loadSnapshot(await h.snapshot(root));
  const backend = h.repo.backend;
  const real = backend.load.bind(backend);
  let dataLoads = 0;
  backend.load = (type, name, range, o) => {
    if (type === "data") dataLoads++;
    return real(type, name, range, o);
  };
  const r = await restore(h.repo, s, { target: `${h.dir}/out`, workers: 2 });
  assertEquals(r.errors, [{
    path: "/liar",
    message: "content is 209715200 bytes, but the snapshot says 5",
  }]);
  assertEquals(Deno.statSync(`${h.dir}/out/big`).size, 200 * 1024 * 1024);
  assertEquals(lstatOrNull(`${h.dir}/out/liar`), null);
  assertEquals(dataLoads, 2, "the root tree's segment, and the repeated blob's once");
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("restore() in workers fails only the files of a batch whose blob is damaged or missing, by their names", async () => {
  const h = await hostileRepo();
  // Small files sharing segments, in several directories, around one file whose blob
  // is a segment of its own (damaged below) and one whose blob is in no pack.
  const small = new Map<string, Uint8Array>();
  const dirs = [];
  for (let d = 0; d < 3; d++) {
    const nodes = [];
    for (let f = 0; f < 40; f++) {
      const data = enc.encode(`dir ${d} file ${f} `.repeat(f + 1));
      small.set(`/d${d}/f${String(f).padStart(2, "0")}`, data);
      nodes.push(fileNode(`f${String(f).padStart(2, "0")}`, [h.put("data", data)], data.length));
    }
    if (d === 1) {
      const alone = new Uint8Array(300 * 1024);
      for (let i = 0; i < alone.length; i += 65536) {
        crypto.getRandomValues(alone.subarray(i, i + 65536));
      }
      nodes.splice(20, 0, fileNode("f19x", [h.put("data", alone)], alone.length));
      nodes.splice(5, 0, fileNode("f04x", ["ab".repeat(32)], 10));
    }
    dirs.push(rawNode(`d${d}`, "dir", { subtree: h.tree(nodes) }));
  }
  const s = await h.repo.loadSnapshot(await h.snapshot(h.tree(dirs)));
  const bad = await h.repo.locateBlob("data", (await findPath(h.repo, s, "/d1/f19x"))!.content![0]);
  const backend = h.repo.backend;
  const real = backend.load.bind(backend);
  let damaged = 0;
  backend.load = async (type, name, range, o) => {
    const b = await real(type, name, range, o);
    const at = bad.offset + bad.length - 1 - (range?.offset ?? 0);
    if (type === "data" && name === bad.pack.name && range && at >= 0 && at < b.length) {
      b[at] ^= 1;
      damaged++;
    }
    return b;
  };
  const r = await restore(h.repo, s, { target: `${h.dir}/out`, workers: 2 });
  assertEquals(damaged, 1);
  assertEquals(r.errors.map((e) => e.path).sort(), ["/d1/f04x", "/d1/f19x"]);
  assertStringIncludes(r.errors.find((e) => e.path === "/d1/f19x")!.message, "damaged");
  assertEquals(r.files, small.size);
  for (const [path, data] of small) {
    assertEquals(Deno.readFileSync(`${h.dir}/out${path}`), data, path);
  }
  assertEquals(lstatOrNull(`${h.dir}/out/d1/f19x`), null);
  assertEquals(lstatOrNull(`${h.dir}/out/d1/f04x`), null);
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("restore() in workers closes a read-only directory with its time only after every batch of its files", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  // More files than a batch takes (256), so the directory's files span batches,
  // with a hard-linked pair among them (restored alone, between batches).
  Deno.mkdirSync(`${src}/ro`, { recursive: true });
  for (let f = 0; f < 700; f++) {
    Deno.writeTextFileSync(`${src}/ro/f${f}`, `file ${f}\n`.repeat(f % 50));
  }
  Deno.linkSync(`${src}/ro/f300`, `${src}/ro/link`);
  for (let f = 0; f < 700; f++) Deno.utimeSync(`${src}/ro/f${f}`, T2, T1);
  Deno.chmodSync(`${src}/ro`, 0o555);
  Deno.utimeSync(`${src}/ro`, T2, T2);
  const s = await snap(repo, [src]);
  const out = `${dir}/out`;
  const r = await restore(repo, s, { target: out, workers: 2 });
  assertEquals(r.errors, []);
  assertEquals(r.files, 701);
  for (let f = 0; f < 700; f++) {
    const at = `${out}${src}/ro/f${f}`;
    assertEquals(Deno.readTextFileSync(at), `file ${f}\n`.repeat(f % 50), at);
    assertEquals(Deno.lstatSync(at).mtime?.getTime(), T1.getTime(), at);
  }
  assertEquals(
    Deno.lstatSync(`${out}${src}/ro/link`).ino,
    Deno.lstatSync(`${out}${src}/ro/f300`).ino,
  );
  const st = Deno.lstatSync(`${out}${src}/ro`);
  assertEquals(st.mode! & 0o777, 0o555);
  assertEquals(
    st.mtime?.getTime(),
    T2.getTime(),
    "the directory's time is set after its last file",
  );
  Deno.chmodSync(`${src}/ro`, 0o755);
  Deno.chmodSync(`${out}${src}/ro`, 0o755);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() writes nothing outside the target when a directory is swapped for a link midway", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/a/sub`, { recursive: true });
  const names = Array.from({ length: 30 }, (_, i) => `f${String(i).padStart(2, "0")}`);
  for (const n of names) Deno.writeTextFileSync(`${src}/a/${n}`, n);
  for (const n of names.slice(0, 5)) Deno.writeTextFileSync(`${src}/a/sub/${n}`, n);
  Deno.symlinkSync("f00", `${src}/a/link`);
  const s = await snap(repo, [src]);

  const outside = `${dir}/outside`;
  Deno.mkdirSync(outside);
  const out = `${dir}/out`;
  const a = `${out}${src}/a`;
  let swapped = false;
  const r = await restore(repo, s, {
    target: out,
    // The hook: once the 6th file of `a` is written, another process swaps `a` for a link.
    onProgress: (p) => {
      if (swapped || p.path !== `${src}/a/f05`) return;
      swapped = true;
      Deno.renameSync(a, `${a}.moved`);
      Deno.symlinkSync(outside, a);
    },
  });
  assert(swapped);
  assertEquals([...listAll(outside).keys()], [], "nothing is written through the link");
  // Everything was written into the directory the restore held: the one now at `a.moved`.
  for (const n of names) assertEquals(Deno.readTextFileSync(`${a}.moved/${n}`), n);
  for (const n of names.slice(0, 5)) assertEquals(Deno.readTextFileSync(`${a}.moved/sub/${n}`), n);
  assertEquals(Deno.readLinkSync(a), outside, "the planted link is left alone");
  // What needed `a` by its name again (the deferred link, its metadata) is refused, not redirected.
  const failed = r.errors.map((e) => e.path).sort();
  assertEquals(failed, [`${src}/a`, `${src}/a/link`, `${src}/a/sub`]);
  for (const e of r.errors) assertStringIncludes(e.message, `${a} is not a directory`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore() from an s3: repository writes files in workers, as from a local one", async () => {
  const { dir, repo } = await tempRepo();
  const src = `${dir}/src`;
  Deno.mkdirSync(src);
  Deno.writeTextFileSync(`${src}/a`, "aaaa");
  const s = await snap(repo, [src]);
  const real = repo.loadBlob.bind(repo);
  let dataLoads = 0;
  repo.loadBlob = (type, id) => {
    if (type === "data") dataLoads++;
    return real(type, id);
  };
  // Files go to workers, which open segments themselves (the S3 backend reads ahead for them).
  Object.defineProperty(repo.backend, "location", { value: "s3:http://127.0.0.1:9/bucket/p" });
  await restore(repo, s, { target: `${dir}/s3` });
  assertEquals(dataLoads, 0);
  assertEquals(Deno.readTextFileSync(`${dir}/s3${src}/a`), "aaaa");
  await restore(repo, s, { target: `${dir}/s3-main`, workers: 0 });
  assertEquals(dataLoads, 1);
  await Deno.remove(dir, { recursive: true });
});
