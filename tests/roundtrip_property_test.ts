/**
 * Property: any tree of files, directories and symlinks backs up and
 * restores byte for byte, with names, modes and mtimes intact.
 */
import fc from "fast-check";
import { join } from "node:path";
import { backup } from "../src/archiver/mod.ts";
import { LocalBackend } from "../src/backend/mod.ts";
import { Repository } from "../src/repo/mod.ts";
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
  const out: unknown[] = [];
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  for (const name of names) {
    const p = join(dir, name);
    const st = Deno.lstatSync(p);
    if (st.isSymlink) out.push({ name, link: Deno.readLinkSync(p) });
    else if (st.isFile) {
      out.push({
        name,
        mode: st.mode! & 0o7777,
        mtime: st.mtime!.getTime(),
        data: Deno.readFileSync(p),
      });
    } else {out.push({
        name,
        mode: st.mode! & 0o7777,
        mtime: st.mtime!.getTime(),
        children: describe(p),
      });}
  }
  return out;
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
