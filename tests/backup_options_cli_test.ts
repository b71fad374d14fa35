/**
 * restic's backup and restore options: --files-from, --exclude-file,
 * --iexclude(-file), --exclude-larger-than, --exclude-caches, --dry-run on
 * backup; --exclude and --iexclude on restore.
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";
import { CACHEDIR_TAG } from "../src/walker/mod.ts";

/** Every file path below `root`, relative, sorted. */
function files(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) walk(`${dir}/${e.name}`, r);
      else out.push(r);
    }
  };
  walk(root, "");
  return out.sort();
}

async function tree(dir: string): Promise<string> {
  const src = `${dir}/src`;
  for (const d of ["docs", "cache", "fake-cache", "Build", "keep"]) {
    await Deno.mkdir(`${src}/${d}`, { recursive: true });
  }
  await Deno.writeTextFile(`${src}/docs/a.txt`, "a\n");
  await Deno.writeTextFile(`${src}/docs/NOTES.TMP`, "upper\n");
  await Deno.writeTextFile(`${src}/docs/b.tmp`, "lower\n");
  await Deno.writeTextFile(
    `${src}/cache/CACHEDIR.TAG`,
    `${CACHEDIR_TAG.slice(CACHEDIR_TAG.indexOf(":") + 1)}\n# x\n`,
  );
  await Deno.writeTextFile(`${src}/cache/blob`, "cached\n");
  await Deno.writeTextFile(`${src}/fake-cache/CACHEDIR.TAG`, "not the signature\n");
  await Deno.writeTextFile(`${src}/Build/out.o`, "obj\n");
  await Deno.writeFile(`${src}/keep/big.bin`, new Uint8Array(300 * 1024));
  await Deno.writeTextFile(`${src}/keep/small.txt`, "small\n");
  return src;
}

async function restored(
  env: Record<string, string>,
  dir: string,
  src: string,
  extra: string[] = [],
) {
  const out = `${dir}/out-${crypto.randomUUID()}`;
  const r = await cairn(["restore", "latest", "--target", out, ...extra], { env });
  assertEquals(r.code, 0, r.stderr);
  return files(`${out}${src}`);
}

Deno.test("backup --exclude-file, --iexclude, --exclude-caches and --exclude-larger-than leave out what they name", async () => {
  const { dir, env } = await makeRepo();
  const src = await tree(dir);
  await Deno.writeTextFile(`${dir}/excludes`, "# build output\n\n  build  \n");
  await Deno.writeTextFile(`${dir}/iexcludes`, "*.tmp\n");
  const r = await cairn([
    "backup",
    src,
    "--exclude-file",
    `${dir}/excludes`,
    "--iexclude-file",
    `${dir}/iexcludes`,
    "--iexclude",
    "BUILD",
    "--exclude-caches",
    "--exclude-larger-than",
    "100K",
    "--json",
  ], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await restored(env, dir, src), [
    "docs/a.txt",
    "fake-cache/CACHEDIR.TAG", // a tag without the signature is not a cache
    "keep/small.txt",
  ]);
  // Case matters for --exclude-file, not for --iexclude: "build" alone would keep Build/.
  const plain = await cairn(["backup", src, "--exclude", "build", "--force"], { env });
  assertEquals(plain.code, 0, plain.stderr);
  assert((await restored(env, dir, src)).includes("Build/out.o"));

  const badSize = await cairn(["backup", src, "--exclude-larger-than", "lots"], { env });
  assertEquals(badSize.code, 2);
  assertStringIncludes(badSize.stderr, "--exclude-larger-than");
  const noFile = await cairn(["backup", src, "--exclude-file", `${dir}/missing`], { env });
  assertEquals(noFile.code, 2);
  assertStringIncludes(noFile.stderr, `${dir}/missing`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("backup --files-from adds the listed paths, skipping comments and blank lines", async () => {
  const { dir, env } = await makeRepo();
  const src = await tree(dir);
  await Deno.writeTextFile(`${dir}/list`, `# what to keep\n${src}/docs/a.txt\n\n${src}/keep\n`);
  const r = await cairn(["backup", "--files-from", `${dir}/list`, "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await restored(env, dir, src), ["docs/a.txt", "keep/big.bin", "keep/small.txt"]);
  const snaps = JSON.parse((await cairn(["snapshots", "--json"], { env })).stdout);
  assertEquals(snaps[0].paths, [`${src}/docs/a.txt`, `${src}/keep`]);
  // With a PATH too, both count; a listed path that does not exist is a usage error.
  await Deno.writeTextFile(`${dir}/bad`, `${src}/nope\n`);
  const bad = await cairn(["backup", `${src}/docs`, "--files-from", `${dir}/bad`], { env });
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, `${src}/nope`);
  const none = await cairn(["backup"], { env });
  assertEquals(none.code, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("backup --dry-run reads everything, says what it would add, and stores nothing", async () => {
  const { dir, env } = await makeRepo();
  const src = await tree(dir);
  const repoFiles = () => files(env.CAIRN_REPO);
  const before = repoFiles();
  const dry = await cairn(["backup", src, "--dry-run", "--json"], { env });
  assertEquals(dry.code, 0, dry.stderr);
  const s = lastJson<
    { dry_run: boolean; snapshot: null; files_new: number; bytes_added: number }
  >(dry);
  assertEquals([s.dry_run, s.snapshot, s.files_new], [true, null, 9]);
  assert(s.bytes_added > 0, "it would add bytes");
  assertEquals(repoFiles(), before, "not one file written, not even a lock");
  const human = await cairn(["backup", src, "-n"], { env });
  assertEquals(human.code, 0, human.stderr);
  assertStringIncludes(human.stdout, "nothing was stored");

  // After a real backup, a dry run would add no file data (only trees of the dirs above).
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const after = repoFiles();
  const again = lastJson<{ data_blobs: number; files_unmodified: number }>(
    await cairn(["backup", src, "--dry-run", "--json"], { env }),
  );
  assertEquals([again.data_blobs, again.files_unmodified], [0, 9]);
  assertEquals(repoFiles(), after);
  const mixed = await cairn(["backup", src, "--dry-run", "--mirror", `${dir}/m`], { env });
  assertEquals(mixed.code, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore --exclude and --iexclude leave out matching paths and what is below them", async () => {
  const { dir, env } = await makeRepo();
  const src = await tree(dir);
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  assertEquals(
    await restored(env, dir, src, ["--exclude", "cache", "--exclude", `${src}/keep/big.bin`]),
    [
      "Build/out.o",
      "docs/NOTES.TMP",
      "docs/a.txt",
      "docs/b.tmp",
      "fake-cache/CACHEDIR.TAG",
      "keep/small.txt",
    ],
  );
  assertEquals(
    await restored(env, dir, src, ["--iexclude", "*.tmp", "--include", "docs"]),
    ["docs/a.txt"],
  );
  await Deno.remove(dir, { recursive: true });
});
