import { LocalBackend } from "../backend/mod.ts";
import { Repository } from "../repo/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { backupWithMirror } from "./backup_with_mirror.ts";
import { mirrorSnapshot } from "./mirror_snapshot.ts";
import type { MirrorOptions } from "./mirror_run.ts";

const NAMES = Array.from({ length: 30 }, (_, i) => `f${String(i).padStart(2, "0")}`);

/** A repository, a source with directory `a` (30 files, a subdirectory, a link) and its mirror. */
async function fixture() {
  const dir = Deno.realPathSync(await Deno.makeTempDir({ prefix: "cairn-mirror-race-" }));
  const repo = await Repository.init(await LocalBackend.create(`${dir}/repo`), "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  const src = `${dir}/src`;
  Deno.mkdirSync(`${src}/a/sub`, { recursive: true });
  const write = (text: string, mtimeMs: number) => {
    for (const n of NAMES) Deno.writeTextFileSync(`${src}/a/${n}`, `${text} ${n}`);
    for (const n of NAMES.slice(0, 5)) Deno.writeTextFileSync(`${src}/a/sub/${n}`, `${text} ${n}`);
    for (const n of NAMES) Deno.utimeSync(`${src}/a/${n}`, mtimeMs / 1000, mtimeMs / 1000);
  };
  write("first", 1_600_000_000_000);
  Deno.symlinkSync("f00", `${src}/a/link`);
  const m = `${dir}/mirror`;
  const outside = `${dir}/outside`;
  Deno.mkdirSync(outside);
  return { dir, repo, src, m, outside, write };
}

/**
 * The hook of a mirror run that, as the 11th file of `a` is handed to its
 * writer, swaps the mirror's `a` for a link to `outside`, as another
 * process could: that file and the ones after it are written after the swap.
 */
function swapAtEleventh(m: string, outside: string): MirrorOptions & { swapped: () => boolean } {
  let swapped = false;
  return {
    path: m,
    purge: true,
    swapped: () => swapped,
    onHandOut: (path) => {
      if (swapped || path !== `${m}/a/f10`) return;
      swapped = true;
      Deno.renameSync(`${m}/a`, `${m}/a.moved`);
      Deno.symlinkSync(outside, `${m}/a`);
    },
  };
}

function assertContained(m: string, outside: string, text: string, errors: { path: string }[]) {
  assertEquals([...Deno.readDirSync(outside)], [], "nothing is written through the link");
  assertEquals(Deno.readLinkSync(`${m}/a`), outside, "the planted link is left alone");
  // Every file went into the directory the run held, now at `a.moved`.
  for (const n of NAMES) assertEquals(Deno.readTextFileSync(`${m}/a.moved/${n}`), `${text} ${n}`);
  // What needed `a` by its name again (its metadata, its subdirectory's) is refused, not redirected.
  assert(errors.length > 0);
  for (const e of errors) assert(e.path.startsWith(`${m}/a`), e.path);
}

Deno.test("backup --mirror writes nothing outside the mirror when a directory is swapped for a link midway", async () => {
  const { dir, repo, src, m, outside, write } = await fixture();
  await backupWithMirror(repo, { paths: [src], host: "h", workers: 1 }, { path: m, purge: true });
  write("second", 1_700_000_000_000);
  const opts = swapAtEleventh(m, outside);
  const r = await backupWithMirror(repo, { paths: [src], host: "h", workers: 1 }, opts);
  assert(opts.swapped());
  assertContained(m, outside, "second", r.mirror.errors);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cairn mirror writes nothing outside the mirror when a directory is swapped for a link midway", async () => {
  const { dir, repo, src, m, outside, write } = await fixture();
  await backupWithMirror(repo, { paths: [src], host: "h", workers: 1 }, { path: m, purge: true });
  write("second", 1_700_000_000_000);
  const second = await backupWithMirror(repo, { paths: [src], host: "h", workers: 1 }, {
    path: `${dir}/other`,
    purge: true,
  });
  const opts = swapAtEleventh(m, outside);
  const r = await mirrorSnapshot(repo, await repo.loadSnapshot(second.id), opts);
  assert(opts.swapped());
  assertContained(m, outside, "second", r.errors);
  await Deno.remove(dir, { recursive: true });
});
