import { assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";
import { lstat } from "../src/platform/mod.ts";

interface Summary {
  files: number;
  skipped: number;
  errors: unknown[];
}

/** A tree backed up, restored once into `out`; returns where each file landed. */
async function restoredOnce() {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/sub`, { recursive: true });
  await Deno.writeTextFile(`${src}/a.txt`, "alpha\n");
  await Deno.writeTextFile(`${src}/sub/b.txt`, "bravo\n");
  await Deno.symlink("a.txt", `${src}/link`);
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const out = `${dir}/out`;
  const first = await cairn(["restore", "latest", "-t", out, "--json"], { env });
  assertEquals(first.code, 0, first.stderr);
  const at = (p: string) => `${out}${src}/${p}`;
  return { dir, env, out, at };
}

const run = (env: Record<string, string>, out: string, mode: string) =>
  cairn(["restore", "latest", "-t", out, "--overwrite", mode, "--json"], { env });

Deno.test("restore --overwrite if-changed keeps files of the same size and mtime, rewrites one whose size changed", async () => {
  const { dir, env, out, at } = await restoredOnce();
  // Same size and mtime (b's own, as restored) but other bytes: if-changed trusts the quick
  // check, as restic does. (b's mtime, not a's: the two sources may differ by a millisecond.)
  const mtime = (await Deno.stat(at("sub/b.txt"))).mtime!;
  await Deno.writeTextFile(at("sub/b.txt"), "BRAVO\n");
  await Deno.utime(at("sub/b.txt"), mtime, mtime);
  // A changed size is rewritten.
  await Deno.writeTextFile(at("a.txt"), "alpha, edited\n");
  const r = await run(env, out, "if-changed");
  assertEquals(r.code, 0, r.stderr);
  const s = lastJson<Summary>(r);
  assertEquals([s.files, s.skipped, s.errors], [1, 2, []]); // a.txt written; link and b kept
  assertEquals(await Deno.readTextFile(at("a.txt")), "alpha\n");
  assertEquals(await Deno.readTextFile(at("sub/b.txt")), "BRAVO\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore --overwrite always rewrites every file; never keeps every one", async () => {
  const { dir, env, out, at } = await restoredOnce();
  await Deno.writeTextFile(at("a.txt"), "local change\n");
  const never = await run(env, out, "never");
  assertEquals(never.code, 0, never.stderr);
  assertEquals([lastJson<Summary>(never).files, lastJson<Summary>(never).skipped], [0, 3]);
  assertEquals(await Deno.readTextFile(at("a.txt")), "local change\n");
  await Deno.remove(at("sub/b.txt"));
  const again = await run(env, out, "never");
  assertEquals(lastJson<Summary>(again).files, 1, "a missing file is restored even with never");
  assertEquals(await Deno.readTextFile(at("sub/b.txt")), "bravo\n");
  const always = await run(env, out, "always");
  assertEquals([lastJson<Summary>(always).files, lastJson<Summary>(always).skipped], [3, 0]);
  assertEquals(await Deno.readTextFile(at("a.txt")), "alpha\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore --overwrite if-newer keeps a file edited after the backup", async () => {
  const { dir, env, out, at } = await restoredOnce();
  await Deno.writeTextFile(at("a.txt"), "newer local edit\n"); // mtime now, after the snapshot's
  await Deno.writeTextFile(at("sub/b.txt"), "older\n");
  await Deno.utime(at("sub/b.txt"), new Date(1_000_000), new Date(1_000_000));
  const r = await run(env, out, "if-newer");
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await Deno.readTextFile(at("a.txt")), "newer local edit\n");
  assertEquals(await Deno.readTextFile(at("sub/b.txt")), "bravo\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore --overwrite with an unknown mode is a usage error naming it", async () => {
  const { dir, env } = await makeRepo();
  const r = await cairn(["restore", "latest", "-t", `${dir}/out`, "--overwrite", "sometimes"], {
    env,
  });
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, `--overwrite must be one of always, if-changed, if-newer, never`);
  assertStringIncludes(r.stderr, `"sometimes"`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore --delete removes what the snapshot does not have, and never follows a link", async () => {
  const { dir, env, out, at } = await restoredOnce();
  const outside = `${dir}/outside`;
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${outside}/keep.txt`, "not the restore's\n");
  await Deno.writeTextFile(at("extra.txt"), "extra\n");
  await Deno.mkdir(at("sub/extra-dir/deep"), { recursive: true });
  await Deno.writeTextFile(at("sub/extra-dir/deep/f"), "f\n");
  await Deno.symlink(outside, at("sub/to-outside"));
  const r = await cairn(
    ["restore", "latest", "-t", out, "--overwrite", "if-changed", "--delete", "--json"],
    { env },
  );
  assertEquals(r.code, 0, r.stderr);
  const s = lastJson<Summary & { deleted: number }>(r);
  assertEquals([s.files, s.skipped, s.deleted, s.errors], [0, 3, 3, []]);
  for (const gone of ["extra.txt", "sub/extra-dir", "sub/to-outside"]) {
    assertEquals(await Deno.lstat(at(gone)).then(() => true, () => false), false, gone);
  }
  assertEquals(await Deno.readTextFile(`${outside}/keep.txt`), "not the restore's\n");
  assertEquals(await Deno.readTextFile(at("sub/b.txt")), "bravo\n");
  const mixed = await cairn(["restore", "latest", "-t", out, "--delete", "--include", "*.txt"], {
    env,
  });
  assertEquals(mixed.code, 2);
  assertStringIncludes(mixed.stderr, "--delete cannot be combined with --include or --exclude");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore --verify rereads what it wrote and restores as usual", async () => {
  const { dir, env, out, at } = await restoredOnce();
  await Deno.writeTextFile(at("a.txt"), "changed locally, a longer text\n");
  const r = await cairn(["restore", "latest", "-t", out, "--overwrite", "if-changed", "--verify"], {
    env,
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(await Deno.readTextFile(at("a.txt")), "alpha\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore --dry-run says what would change and changes nothing", async () => {
  const { dir, env, out, at } = await restoredOnce();
  await Deno.writeTextFile(at("a.txt"), "edited locally, longer\n");
  await Deno.writeTextFile(at("extra.txt"), "extra\n");
  const before = await Deno.stat(at("a.txt"));
  const r = await cairn(
    [
      "restore",
      "latest",
      "-t",
      out,
      "--overwrite",
      "if-changed",
      "--delete",
      "--dry-run",
      "--json",
    ],
    { env },
  );
  assertEquals(r.code, 0, r.stderr);
  const plan = lastJson<{ write: string[]; keep: string[]; remove: string[]; make_dirs: string[] }>(
    r,
  );
  assertEquals(plan.write.length, 1);
  assertStringIncludes(plan.write[0], "/a.txt");
  assertEquals([plan.keep.length, plan.make_dirs.length], [2, 0]);
  assertEquals(plan.remove.length, 1);
  assertStringIncludes(plan.remove[0], "/extra.txt");
  assertEquals(await Deno.readTextFile(at("a.txt")), "edited locally, longer\n");
  assertEquals(await Deno.readTextFile(at("extra.txt")), "extra\n");
  assertEquals((await Deno.stat(at("a.txt"))).mtime, before.mtime);
  const text = await cairn(["restore", "latest", "-t", `${dir}/fresh`, "--dry-run"], { env });
  assertStringIncludes(text.stdout, "nothing was changed");
  assertEquals(await Deno.lstat(`${dir}/fresh`).then(() => true, () => false), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore --overwrite if-changed puts back a changed directory's mode and time and a file's mtime, and leaves an unchanged directory untouched", async () => {
  const { dir, env, out, at } = await restoredOnce();
  const sub = at("sub");
  const want = await Deno.lstat(sub);
  const bTime = (await Deno.lstat(at("sub/b.txt"))).mtime!;
  await Deno.chmod(sub, 0o711);
  await Deno.utime(sub, new Date(1e12), new Date(1e12));
  // Same size, another mtime: written again.
  await Deno.utime(at("sub/b.txt"), new Date(1e12), new Date(1e12));
  const top = lstat(at("."));
  const r = await run(env, out, "if-changed");
  assertEquals(r.code, 0, r.stderr);
  const s = lastJson<Summary>(r);
  assertEquals([s.files, s.skipped, s.errors], [1, 2, []]); // b.txt written; a and link kept
  const now = await Deno.lstat(sub);
  assertEquals(now.mode! & 0o7777, want.mode! & 0o7777);
  assertEquals(now.mtime, want.mtime);
  assertEquals((await Deno.lstat(at("sub/b.txt"))).mtime, bTime);
  // Nothing in the top directory changed: no chmod, chown or utime touched it (its ctime).
  const after = lstat(at("."));
  assertEquals([after.ctimeNs, after.mtimeNs, after.mode], [top.ctimeNs, top.mtimeNs, top.mode]);
  await Deno.remove(dir, { recursive: true });
});
