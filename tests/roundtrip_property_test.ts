/**
 * Properties: any tree of files, directories and symlinks backs up and
 * restores byte for byte, with names, modes and mtimes intact; any snapshot
 * a backup reports as saved passes `check` and restores, whatever paths it
 * was given, symlinked ancestors included; and trees with hard links,
 * special bits, FIFOs and owners survive a parent backup after edits, a
 * restore into an existing target and a mirror. CI (`CI=true`) runs more
 * cases.
 */
import fc from "fast-check";
import { join } from "node:path";
import { backup } from "../src/archiver/mod.ts";
import { LocalBackend } from "../src/backend/mod.ts";
import { backupWithMirror } from "../src/mirror/mod.ts";
import { checkRepository, Repository } from "../src/repo/mod.ts";
import { restore } from "../src/restore/mod.ts";
import {
  lstat,
  readXattrs,
  setTimes,
  supported as platformSupported,
  writeXattr,
} from "../src/platform/mod.ts";
import { assert, assertEquals } from "../src/testing/asserts.ts";
import { byteFs, nameOfBytes } from "../src/platform/mod.ts";

// Deno's calls cannot reach a name that is not UTF-8; the platform's byteFs can.
const { chmodSync, linkSync, lstatSync, mkdirSync, readLinkSync, removeSync, symlinkSync } = byteFs;
const readDirSync = (dir: string) => byteFs.readDirNames(dir).map((name) => ({ name }));
const utimeSync = (p: string, _a: number, m: number) => {
  const ns = String(BigInt(Math.round(m * 1000)) * 1_000_000n);
  setTimes(p, ns, ns, { follow: true });
};
function writeFileSync(p: string, data: Uint8Array) {
  using f = byteFs.openSync(p, { write: true, create: true, truncate: true });
  for (let at = 0; at < data.length;) at += f.writeSync(data.subarray(at));
}
function readFileSync(p: string): Uint8Array {
  using f = byteFs.openSync(p, { read: true });
  const parts: Uint8Array[] = [];
  for (let buf = new Uint8Array(65536), n; (n = f.readSync(buf)); buf = new Uint8Array(65536)) {
    parts.push(buf.subarray(0, n));
  }
  return new Uint8Array(parts.flatMap((b) => [...b]));
}

/** What the platform keeps beyond Deno's own: nanoseconds past `mtime`'s millisecond, xattrs. */
interface Fidelity {
  ns: number;
  xattrs: { name: string; value: Uint8Array }[];
}

type Entry =
  | {
    kind: "file";
    name: string;
    data: Uint8Array;
    mode: number;
    mtime: number;
    /** Written at the middle of a 1 MiB hole: a sparse file. */
    holes: boolean;
  } & Fidelity
  | { kind: "dir"; name: string; mode: number; mtime: number; children: Entry[] } & Fidelity
  | { kind: "link"; name: string; target: string; mtime: number; ns: number };

// Names worth trying: odd characters, both Unicode normal forms, long ones.
const nameArb = fc.oneof(
  fc.stringMatching(/^[a-z0-9._-]{1,12}$/).filter((s) => s !== "." && s !== ".."),
  fc.constantFrom(
    "with space",
    "new\nline",
    "quote\"'",
    "caf\u00e9",
    "cafe\u0301",
    "\u{1f600}",
    "x".repeat(255),
    // Not UTF-8: "caf" + 0xE9 (Latin-1's é) and 0xFF.
    nameOfBytes(new Uint8Array([0x63, 0x61, 0x66, 0xe9])),
    nameOfBytes(new Uint8Array([0xff])),
  ),
);
const modeArb = fc.constantFrom(0o600, 0o644, 0o640, 0o755, 0o700, 0o444);
const mtimeArb = fc.integer({ min: 0, max: 4_000_000_000_000 });
const dataArb = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.constantFrom(new Uint8Array(0)),
  fc.integer({ min: 0, max: 255 }).map((b) => new Uint8Array(100_000).fill(b)),
);

const nsArb = fc.integer({ min: 0, max: 999_999 });
/** user.* attributes, and sometimes an access ACL (as setfacl writes it: the xattr's bytes). */
const xattrsArb = fc.tuple(
  fc.uniqueArray(
    fc.record({
      name: fc.stringMatching(/^[a-z]{1,8}$/).map((n) => `user.${n}`),
      value: fc.uint8Array({ maxLength: 40 }),
    }),
    { maxLength: 2, selector: (x) => x.name },
  ),
  fc.boolean(),
).map(([list, acl]) => acl ? [...list, { name: "system.posix_acl_access", value: ACL }] : list);

/** user::rw-, user:65534:r--, group::r--, mask::r--, other::--- in the kernel's xattr form. */
const ACL = (() => {
  const entries = [[0x01, 6, -1], [0x02, 4, 65534], [0x04, 4, -1], [0x10, 4, -1], [0x20, 0, -1]];
  const v = new DataView(new ArrayBuffer(4 + entries.length * 8));
  v.setUint32(0, 2, true);
  entries.forEach(([tag, perm, id], i) => {
    v.setUint16(4 + i * 8, tag, true);
    v.setUint16(6 + i * 8, perm, true);
    v.setUint32(8 + i * 8, id >>> 0, true);
  });
  return new Uint8Array(v.buffer);
})();

const entryArb: fc.Arbitrary<Entry[]> = fc.letrec((tie) => ({
  entries: fc.uniqueArray(tie("entry") as fc.Arbitrary<Entry>, {
    maxLength: 6,
    selector: (e) => e.name,
  }),
  entry: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({
      kind: fc.constant("file" as const),
      name: nameArb,
      data: dataArb,
      mode: modeArb,
      mtime: mtimeArb,
      holes: fc.boolean(),
      ns: nsArb,
      xattrs: xattrsArb,
    }),
    fc.record({
      kind: fc.constant("link" as const),
      name: nameArb,
      target: fc.constantFrom("/etc/hostname", "../up", "dangling", "a b"),
      mtime: mtimeArb,
      ns: nsArb,
    }),
    fc.record({
      kind: fc.constant("dir" as const),
      name: nameArb,
      mode: fc.constantFrom(0o755, 0o700, 0o750),
      mtime: mtimeArb,
      children: tie("entries") as fc.Arbitrary<Entry[]>,
      ns: nsArb,
      xattrs: xattrsArb,
    }),
  ),
})).entries;

function build(dir: string, entries: Entry[]) {
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.kind === "file") {
      if (e.holes) {
        const f = byteFs.openSync(p, { write: true, create: true });
        f.truncateSync(HOLE);
        f.seekSync(HOLE / 2, Deno.SeekMode.Start);
        f.writeSync(e.data);
        f.close();
      } else writeFileSync(p, e.data);
      chmodSync(p, e.mode);
      fidelity(p, e);
    } else if (e.kind === "link") {
      symlinkSync(e.target, p);
      if (platformSupported) setTimes(p, nsTime(e), nsTime(e));
    } else {
      mkdirSync(p);
      build(p, e.children);
      chmodSync(p, e.mode);
      fidelity(p, e);
    }
  }
}

const HOLE = 1024 * 1024;

/** The time of `e` in nanoseconds, as trees hold it. */
const nsTime = (e: { mtime: number; ns: number }) =>
  `${BigInt(e.mtime) * 1_000_000n + BigInt(e.ns)}`;

/** Sets xattrs (an ACL last: after chmod, whose group bits it sets) and the time to the ns. */
function fidelity(p: string, e: { mtime: number } & Fidelity): void {
  if (!platformSupported) return utimeSync(p, e.mtime / 1000, e.mtime / 1000);
  for (const x of e.xattrs) writeXattr(p, x.name, x.value);
  setTimes(p, nsTime(e), nsTime(e));
}

/** Everything observable about a tree, for comparison. */
function describe(dir: string): unknown[] {
  const names = [...readDirSync(dir)].map((e) => e.name).sort();
  return names.map((name) => describeEntry(join(dir, name), name));
}

/** Everything observable about one entry (a symlink as itself), for comparison. */
function describeEntry(p: string, name: string): unknown {
  const st = lstatSync(p);
  const more = platformSupported
    ? { mtimeNs: lstat(p).mtimeNs, xattrs: readXattrs(p) }
    : { mtime: st.mtime!.getTime() };
  if (st.isSymlink) return { name, link: readLinkSync(p), ...more };
  const meta = { name, mode: st.mode! & 0o7777, mtime: st.mtime!.getTime(), ...more };
  if (!st.isFile) return { ...meta, children: describe(p) };
  // A sparse file stays sparse: fewer bytes allocated than its size.
  const sparse = st.size >= HOLE && (st.blocks ?? 0) * 512 < st.size;
  return { ...meta, data: readFileSync(p), sparse };
}

/** The relative paths of every entry of a generated tree, parents first. */
function entryPaths(entries: Entry[], prefix = ""): string[] {
  return entries.flatMap((e) => {
    const p = prefix ? `${prefix}/${e.name}` : e.name;
    return e.kind === "dir" ? [p, ...entryPaths(e.children, p)] : [p];
  });
}

Deno.test("random trees round-trip byte for byte with their metadata", async () => {
  const base = await Deno.makeTempDir({ prefix: "cairn-prop-" });
  const repo = await Repository.init(await LocalBackend.create(`${base}/repo`), "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
    chunker: { min: 4096, avg: 16384, max: 65536 },
  });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(entryArb, async (entries) => {
      const src = `${base}/src-${run}`;
      const target = `${base}/out-${run++}`;
      mkdirSync(src);
      build(src, entries);
      const { snapshot } = await backup(repo, { paths: [src], host: "prop", workers: 1 });
      const result = await restore(repo, snapshot, { target });
      assertEquals(result.errors, []);
      assertEquals(describe(join(target, src)), describe(src));
    }),
    { numRuns: Deno.env.get("CI") === "true" ? 50 : 25 },
  );
  await Deno.remove(base, { recursive: true });
});

// ---- hard links, special bits, FIFOs, owners, parents, existing targets, mirrors ----

const ROOT = Deno.uid() === 0;
/** More cases in CI than on a laptop. */
const RUNS = Deno.env.get("CI") === "true" ? 30 : 8;

type Rich =
  | { kind: "file"; name: string; data: Uint8Array; mode: number; mtime: number; owner: number }
  | { kind: "fifo"; name: string; mode: number; owner: number }
  | { kind: "link"; name: string; target: string }
  | { kind: "dir"; name: string; mode: number; mtime: number; owner: number; children: Rich[] };

/** Owners tried as root (uid = gid + 1 each, so a swap shows). */
const OWNERS = [[0, 0], [1000, 999], [4321, 4320]];

const richArb: fc.Arbitrary<Rich[]> = fc.letrec((tie) => ({
  entries: fc.uniqueArray(tie("entry") as fc.Arbitrary<Rich>, {
    maxLength: 5,
    selector: (e) => e.name,
  }),
  entry: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({
      kind: fc.constant("file" as const),
      name: nameArb,
      data: dataArb,
      mode: fc.constantFrom(0o644, 0o600, 0o4755, 0o2750, 0o6711, 0o1644, 0o444),
      mtime: mtimeArb,
      owner: fc.nat(OWNERS.length - 1),
    }),
    fc.record({
      kind: fc.constant("fifo" as const),
      name: nameArb,
      mode: fc.constantFrom(0o600, 0o644),
      owner: fc.nat(OWNERS.length - 1),
    }),
    fc.record({
      kind: fc.constant("link" as const),
      name: nameArb,
      target: fc.constantFrom("/etc/hostname", "../up", "dangling"),
    }),
    fc.record({
      kind: fc.constant("dir" as const),
      name: nameArb,
      mode: fc.constantFrom(0o755, 0o700, 0o1777, 0o2755, 0o1770),
      mtime: mtimeArb,
      owner: fc.nat(OWNERS.length - 1),
      children: tie("entries") as fc.Arbitrary<Rich[]>,
    }),
  ),
})).entries;

/** After the first backup: edits to the n-th regular file (modulo their count), or a new file. */
type Edit =
  | { op: "rewrite"; file: number; data: Uint8Array }
  | { op: "chmod"; file: number; mode: number }
  | { op: "touch"; file: number; mtime: number }
  | { op: "delete"; file: number }
  | { op: "add"; data: Uint8Array };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant("rewrite" as const), file: fc.nat(), data: dataArb }),
  fc.record({
    op: fc.constant("chmod" as const),
    file: fc.nat(),
    mode: fc.constantFrom(0o600, 0o755, 0o4755),
  }),
  fc.record({ op: fc.constant("touch" as const), file: fc.nat(), mtime: mtimeArb }),
  fc.record({ op: fc.constant("delete" as const), file: fc.nat() }),
  fc.record({ op: fc.constant("add" as const), data: dataArb }),
);

const caseArb = fc.record({
  entries: richArb,
  // Hard links: extra names at the top for the n-th regular file (modulo their count).
  links: fc.array(fc.nat(), { maxLength: 3 }),
  edits: fc.array(editArb, { maxLength: 5 }),
});

function chownIfRoot(path: string, owner: number) {
  if (ROOT) byteFs.chownSync(path, OWNERS[owner][0], OWNERS[owner][1]);
}

function buildRich(dir: string, entries: Rich[]) {
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.kind === "file") {
      writeFileSync(p, e.data);
      chownIfRoot(p, e.owner); // before chmod: chown clears setuid bits
      chmodSync(p, e.mode);
      utimeSync(p, e.mtime / 1000, e.mtime / 1000);
    } else if (e.kind === "fifo") {
      byteFs.mknodSync(p, 0o010000 | 0o600, 0);
      chmodSync(p, e.mode);
      chownIfRoot(p, e.owner);
    } else if (e.kind === "link") symlinkSync(e.target, p);
    else {
      mkdirSync(p);
      buildRich(p, e.children);
      chownIfRoot(p, e.owner);
      chmodSync(p, e.mode);
      utimeSync(p, e.mtime / 1000, e.mtime / 1000);
    }
  }
}

/** Regular files below `dir`, by path, sorted. */
function regularFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of [...readDirSync(dir)].map((e) => e.name).sort()) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory) out.push(...regularFiles(p));
    else if (st.isFile) out.push(p);
  }
  return out;
}

function applyEdit(src: string, edit: Edit, i: number) {
  if (edit.op === "add") {
    writeFileSync(join(src, `NEW${i}`), edit.data);
    return;
  }
  const files = regularFiles(src);
  if (files.length === 0) return;
  const p = files[edit.file % files.length];
  if (edit.op === "rewrite") {
    const mode = lstatSync(p).mode! & 0o7777;
    chmodSync(p, 0o600);
    writeFileSync(p, edit.data);
    chmodSync(p, mode);
  } else if (edit.op === "chmod") chmodSync(p, edit.mode);
  else if (edit.op === "touch") utimeSync(p, edit.mtime / 1000, edit.mtime / 1000);
  else removeSync(p);
}

/**
 * Everything observable below `root`, flat, by relative path: type, mode,
 * mtime, owner (as root), content, and for a hard-linked file the first
 * path (among `only`, when given) that shares its inode. `mirror` leaves out
 * what docs/MIRROR.md says a mirror does not keep: setuid/setgid bits and
 * FIFOs, and cairn's own files in the mirror's top folder.
 */
function flat(
  root: string,
  opts: { only?: Set<string>; mirror?: boolean } = {},
): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const firstOfInode = new Map<number, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of [...readDirSync(dir)].map((e) => e.name).sort()) {
      const path = `${rel}/${name}`;
      if (opts.mirror && rel === "" && name.startsWith(".cairn-mirror")) continue;
      const p = join(dir, name);
      const st = lstatSync(p);
      if (opts.mirror && st.isFifo) continue;
      const bits = opts.mirror ? 0o1777 : 0o7777;
      const d: Record<string, unknown> = {};
      if (ROOT && !st.isSymlink) d.owner = [st.uid, st.gid];
      if (st.isSymlink) d.link = readLinkSync(p);
      else if (st.isFifo) d.fifo = st.mode! & 0o7777;
      else if (st.isFile) {
        Object.assign(d, { mode: st.mode! & bits, mtime: st.mtime!.getTime() });
        d.data = readFileSync(p);
        if (st.nlink! > 1 && (!opts.only || opts.only.has(path))) {
          const first = firstOfInode.get(st.ino!) ?? path;
          firstOfInode.set(st.ino!, first);
          if (first !== path) d.sameAs = first;
        }
      } else {
        Object.assign(d, { dir: st.mode! & bits, mtime: st.mtime!.getTime() });
        walk(p, path);
      }
      out.set(path, d);
    }
  };
  walk(root, "");
  return out;
}

/** `want` ⊆ `got`, entry by entry. */
function assertHolds(
  got: Map<string, Record<string, unknown>>,
  want: Map<string, Record<string, unknown>>,
  what: string,
) {
  for (const [path, d] of want) assertEquals(got.get(path), d, `${what}: ${path}`);
}

Deno.test("random trees with hard links, special bits, FIFOs and owners survive a backup, a parent backup after edits, restores into an existing target and a mirror", async () => {
  const base = await Deno.makeTempDir({ prefix: "cairn-prop2-" });
  const repo = await Repository.init(await LocalBackend.create(`${base}/repo`), "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
    chunker: { min: 4096, avg: 16384, max: 65536 },
  });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(caseArb, async ({ entries, links, edits }) => {
      const n = run++;
      const src = `${base}/src-${n}`;
      const target = `${base}/out-${n}`;
      const mirror = `${base}/mirror-${n}`;
      mkdirSync(src);
      buildRich(src, entries);
      const files = regularFiles(src);
      links.forEach((k, i) => {
        if (files.length) linkSync(files[k % files.length], join(src, `HL${i}`));
      });

      const opts = { paths: [src], host: "prop", workers: 1 };
      const mirrorOpts = { path: mirror, purge: true };
      const first = await backupWithMirror(repo, opts, mirrorOpts);
      assertEquals([first.errors, first.mirror.errors], [[], []]);
      const r1 = await restore(repo, first.snapshot, { target, special: true });
      assertEquals(r1.errors, []);
      const before = flat(src);
      assertEquals(flat(join(target, src)), before, "first restore");
      assertEquals(flat(mirror, { mirror: true }), flat(src, { mirror: true }), "first mirror");

      edits.forEach((e, i) => applyEdit(src, e, i));
      const second = await backupWithMirror(
        repo,
        { ...opts, parent: { ...first.snapshot, id: first.id } },
        mirrorOpts,
      );
      assertEquals([second.errors, second.mirror.errors], [[], []]);
      const after = flat(src);
      assertEquals(
        flat(mirror, { mirror: true }),
        flat(src, { mirror: true }),
        "mirror after edits",
      );

      // Into the target that holds the first restore: what the source has now is
      // there exactly; anything else is what the edits deleted.
      const r2 = await restore(repo, second.snapshot, { target, special: true });
      assertEquals(r2.errors, []);
      const restored = flat(join(target, src), { only: new Set(after.keys()) });
      assertHolds(restored, after, "restore into an existing target");
      for (const path of restored.keys()) {
        assert(after.has(path) || before.has(path), `${path} came from nowhere`);
      }
      // The second snapshot on its own, in a fresh target, is the edited source exactly.
      const fresh = `${base}/fresh-${n}`;
      assertEquals(
        (await restore(repo, second.snapshot, { target: fresh, special: true })).errors,
        [],
      );
      assertEquals(flat(join(fresh, src)), after, "fresh restore of the parent-based snapshot");
    }),
    { numRuns: RUNS },
  );
  await Deno.remove(base, { recursive: true });
});

Deno.test("any snapshot a backup saves passes check and restores, sources through symlinks too", async () => {
  const base = await Deno.makeTempDir({ prefix: "cairn-prop-" });
  let run = 0;
  await fc.assert(
    fc.asyncProperty(
      entryArb.filter((e) => e.length > 0),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom("real", "alias", "nested")), {
        minLength: 1,
        maxLength: 4,
      }),
      async (entries, picks) => {
        const n = run++;
        // `real` holds the tree; `alias` is a symlink to it, `nested/in` one a level deeper.
        const root = `${base}/r${n}`;
        // A repository per case: check looks at every snapshot, so one bad case must not
        // fail the cases fast-check shrinks it to.
        const repo = await Repository.init(await LocalBackend.create(`${root}/repo`), "pw", {
          kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
          chunker: { min: 4096, avg: 16384, max: 65536 },
        });
        const real = `${root}/real`;
        Deno.mkdirSync(`${root}/nested`, { recursive: true });
        Deno.mkdirSync(real);
        build(real, entries);
        Deno.symlinkSync("real", `${root}/alias`);
        Deno.symlinkSync("../real", `${root}/nested/in`);
        const all = entryPaths(entries);
        const prefix = { real, alias: `${root}/alias`, nested: `${root}/nested/in` };
        const sources = picks.map(([i, via]) =>
          `${prefix[via as keyof typeof prefix]}/${all[i % all.length]}`
        );
        const { snapshot, errors } = await backup(repo, {
          paths: sources,
          host: "prop",
          workers: 1,
        });
        assertEquals(errors, []);
        const checked = await checkRepository(repo);
        assertEquals(checked.errors, []);
        const target = `${base}/out-${n}`;
        const result = await restore(repo, snapshot, { target });
        assertEquals(result.errors, []);
        for (const source of sources) {
          const name = source.slice(source.lastIndexOf("/") + 1);
          assertEquals(describeEntry(join(target, source), name), describeEntry(source, name));
        }
      },
    ),
    { numRuns: Deno.env.get("CI") === "true" ? 50 : 25 },
  );
  await Deno.remove(base, { recursive: true });
});
