/**
 * Properties: any tree of files, directories and symlinks backs up and
 * restores byte for byte, with names, modes and mtimes intact; and any
 * snapshot a backup reports as saved passes `check` and restores, whatever
 * paths it was given, symlinked ancestors included.
 */
import fc from "fast-check";
import { join } from "node:path";
import { backup } from "../src/archiver/mod.ts";
import { LocalBackend } from "../src/backend/mod.ts";
import { checkRepository, Repository } from "../src/repo/mod.ts";
import { restore } from "../src/restore/mod.ts";
import { assertEquals } from "../src/testing/asserts.ts";

type Entry =
  | { kind: "file"; name: string; data: Uint8Array; mode: number; mtime: number }
  | { kind: "dir"; name: string; mode: number; mtime: number; children: Entry[] }
  | { kind: "link"; name: string; target: string };

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
  ),
);
const modeArb = fc.constantFrom(0o600, 0o644, 0o640, 0o755, 0o700, 0o444);
const mtimeArb = fc.integer({ min: 0, max: 4_000_000_000_000 });
const dataArb = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }),
  fc.constantFrom(new Uint8Array(0)),
  fc.integer({ min: 0, max: 255 }).map((b) => new Uint8Array(100_000).fill(b)),
);

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
    }),
    fc.record({
      kind: fc.constant("link" as const),
      name: nameArb,
      target: fc.constantFrom("/etc/hostname", "../up", "dangling", "a b"),
    }),
    fc.record({
      kind: fc.constant("dir" as const),
      name: nameArb,
      mode: fc.constantFrom(0o755, 0o700, 0o750),
      mtime: mtimeArb,
      children: tie("entries") as fc.Arbitrary<Entry[]>,
    }),
  ),
})).entries;

function build(dir: string, entries: Entry[]) {
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.kind === "file") {
      Deno.writeFileSync(p, e.data);
      Deno.chmodSync(p, e.mode);
      Deno.utimeSync(p, e.mtime / 1000, e.mtime / 1000);
    } else if (e.kind === "link") Deno.symlinkSync(e.target, p);
    else {
      Deno.mkdirSync(p);
      build(p, e.children);
      Deno.chmodSync(p, e.mode);
      Deno.utimeSync(p, e.mtime / 1000, e.mtime / 1000);
    }
  }
}

/** Everything observable about a tree, for comparison. */
function describe(dir: string): unknown[] {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  return names.map((name) => describeEntry(join(dir, name), name));
}

/** Everything observable about one entry (a symlink as itself), for comparison. */
function describeEntry(p: string, name: string): unknown {
  const st = Deno.lstatSync(p);
  if (st.isSymlink) return { name, link: Deno.readLinkSync(p) };
  const meta = { name, mode: st.mode! & 0o7777, mtime: st.mtime!.getTime() };
  return st.isFile ? { ...meta, data: Deno.readFileSync(p) } : { ...meta, children: describe(p) };
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
      Deno.mkdirSync(src);
      build(src, entries);
      const { snapshot } = await backup(repo, { paths: [src], host: "prop", workers: 1 });
      const result = await restore(repo, snapshot, { target });
      assertEquals(result.errors, []);
      assertEquals(describe(join(target, src)), describe(src));
    }),
    { numRuns: 25 },
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
    { numRuns: 25 },
  );
  await Deno.remove(base, { recursive: true });
});
