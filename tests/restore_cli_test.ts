import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, UNPRIVILEGED } from "./_launcher.ts";

async function source(): Promise<string> {
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  await Deno.mkdir(`${src}/docs/old`, { recursive: true });
  await Deno.writeTextFile(`${src}/docs/report.txt`, "report\n");
  await Deno.writeTextFile(`${src}/docs/old/draft.txt`, "draft\n");
  await Deno.writeFile(`${src}/photo.bin`, crypto.getRandomValues(new Uint8Array(50000)));
  await Deno.writeTextFile(`${src}/bad\x1b[31mname`, "escape codes in a name");
  await Deno.chmod(`${src}/docs/report.txt`, 0o600);
  await Deno.symlink("docs/report.txt", `${src}/link`);
  return src;
}

Deno.test("restore writes the snapshot back under the target and prints a summary", async () => {
  const { dir, env } = await makeRepo();
  const src = await source();
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const out = `${dir}/out`;
  const r = await cairn(["restore", "latest", "--target", out], { env });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "restored 5 files");
  assertEquals(await Deno.readTextFile(`${out}${src}/docs/old/draft.txt`), "draft\n");
  assertEquals(
    await Deno.readFile(`${out}${src}/photo.bin`),
    await Deno.readFile(`${src}/photo.bin`),
  );
  assertEquals((await Deno.lstat(`${out}${src}/docs/report.txt`)).mode! & 0o777, 0o600);
  assertEquals(await Deno.readLink(`${out}${src}/link`), "docs/report.txt");
  assertEquals(await Deno.readTextFile(`${out}${src}/bad\x1b[31mname`), "escape codes in a name");
  // The terminal never sees the raw escape sequence: commands that print the
  // name (ls, and a restore error about it) print it escaped.
  assert(!r.stdout.includes("\x1b") && !r.stderr.includes("\x1b"));
  const ls = await cairn(["ls", "latest", src], { env });
  assertEquals(ls.code, 0, ls.stderr);
  assertStringIncludes(ls.stdout, `${src}/bad\\u{1b}[31mname\n`);
  assert(!ls.stdout.includes("\x1b"), "ls printed a raw escape");
  const blocked = `${dir}/blocked`;
  await Deno.mkdir(`${blocked}${src}/bad\x1b[31mname/sub`, { recursive: true });
  const warn = await cairn(["restore", "latest", "--target", blocked], { env });
  assertStringIncludes(
    warn.stderr,
    `${src}/bad\\u{1b}[31mname: a non-empty directory is in the way`,
  );
  assert(!warn.stdout.includes("\x1b") && !warn.stderr.includes("\x1b"), "restore printed it raw");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("restore --include --json restores only matching paths", async () => {
  const { dir, env } = await makeRepo();
  const src = await source();
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const out = `${dir}/out`;
  const r = await cairn(["restore", "latest", "-t", out, "--include", "*.txt", "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  const s = lastJson<{ files: number; errors: unknown[] }>(r);
  assertEquals([s.files, s.errors], [2, []]);
  const names: string[] = [];
  for await (const e of Deno.readDir(`${out}${src}`)) names.push(e.name);
  assertEquals(names.sort(), ["docs"]);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("restore without --target is a usage error; an unknown snapshot fails", async () => {
  const { dir, env } = await makeRepo();
  const src = await source();
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const noTarget = await cairn(["restore", "latest"], { env });
  assertEquals(noTarget.code, 2);
  assertStringIncludes(noTarget.stderr, "--target");
  const missing = await cairn(["restore", "ffffffff", "--target", "/tmp/x-never"], { env });
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "No snapshot found");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("check passes on a fresh repository and names a damaged pack after --read-data", async () => {
  const { dir, env } = await makeRepo();
  const src = await source();
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const ok = await cairn(["check", "--read-data"], { env });
  assertEquals(ok.code, 0, ok.stdout + ok.stderr);
  assertStringIncludes(ok.stdout, "no errors found");

  // Damage the biggest pack (the one holding photo.bin) in its middle.
  let biggest = { path: "", size: 0 };
  for await (const sub of Deno.readDir(`${dir}/repo/data`)) {
    for await (const f of Deno.readDir(`${dir}/repo/data/${sub.name}`)) {
      const path = `${dir}/repo/data/${sub.name}/${f.name}`;
      const { size } = await Deno.stat(path);
      if (size > biggest.size) biggest = { path, size };
    }
  }
  await Deno.chmod(biggest.path, 0o600);
  const bytes = await Deno.readFile(biggest.path);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  await Deno.writeFile(biggest.path, bytes);
  const packName = biggest.path.slice(biggest.path.lastIndexOf("/") + 1);

  assertEquals((await cairn(["check"], { env })).code, 0, "structure alone is intact");
  const bad = await cairn(["check", "--read-data"], { env });
  assertEquals(bad.code, 1);
  const errors = bad.stdout.split("\n").filter((l) => l.startsWith("error: "));
  assert(errors.some((l) => l.startsWith(`error: pack ${packName}:`)), bad.stdout);
  assert(errors.some((l) => /^error: data blob [0-9a-f]{64}: in pack /.test(l)), bad.stdout);
  const json = lastJson<{ ok: boolean; errors: { object: string }[] }>(
    await cairn(["check", "--read-data", "--json"], { env }),
  );
  assertEquals(json.ok, false);
  assert(json.errors.some((e) => e.object === `pack ${packName}`));
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test({
  name: "restore by a user who may not chown keeps its own ownership and restores everything",
  // As root the restore runs in a user namespace as uid 1000, so this runs
  // wherever the owner-restoring test (root only) does not, and there too.
  ignore: UNPRIVILEGED === undefined,
  async fn() {
    const { dir, env } = await makeRepo();
    const src = await source();
    if (Deno.uid() === 0) {
      await Deno.chown(`${src}/docs/report.txt`, 1234, 2345);
      await Deno.chown(`${src}/docs`, 3456, 4567);
    }
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    const out = `${dir}/out`;
    const r = await cairn(["restore", "latest", "--target", out], { env, wrap: UNPRIVILEGED });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stdout, "restored 5 files");
    // Files made in the namespace belong, outside it, to whoever ran the test.
    for (const p of ["docs", "docs/report.txt", "docs/old/draft.txt"]) {
      const st = await Deno.lstat(`${out}${src}/${p}`);
      assertEquals([st.uid, st.gid], [Deno.uid(), Deno.gid()], p);
    }
    assertEquals(await Deno.readTextFile(`${out}${src}/docs/report.txt`), "report\n");
    assertEquals((await Deno.lstat(`${out}${src}/docs/report.txt`)).mode! & 0o777, 0o600);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(src, { recursive: true });
  },
});
