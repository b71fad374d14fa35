import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";

async function twoSnapshots() {
  const { dir, env } = await makeRepo();
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  await Deno.mkdir(`${src}/sub`);
  await Deno.writeTextFile(`${src}/keep.txt`, "keep\n");
  await Deno.writeTextFile(`${src}/edit.txt`, "one\n");
  await Deno.writeTextFile(`${src}/gone.txt`, "gone\n");
  await Deno.writeTextFile(`${src}/sub/new\nline.txt`, "odd name\n");
  const big = new Uint8Array(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  await Deno.writeFile(`${src}/big.bin`, big);
  const r1 = await cairn(["backup", src, "--json", "--time", "2024-01-01T00:00:00Z"], { env });
  assertEquals(r1.code, 0, r1.stderr);
  await Deno.writeTextFile(`${src}/edit.txt`, "two, longer\n");
  await Deno.remove(`${src}/gone.txt`);
  await Deno.writeTextFile(`${src}/added.txt`, "added\n");
  await Deno.chmod(`${src}/keep.txt`, 0o600);
  const r2 = await cairn(["backup", src, "--json", "--time", "2024-01-02T00:00:00Z"], { env });
  assertEquals(r2.code, 0, r2.stderr);
  const id1 = lastJson<{ snapshot: string }>(r1).snapshot;
  const id2 = lastJson<{ snapshot: string }>(r2).snapshot;
  return { dir, env, src, big, id1, id2 };
}

Deno.test("ls lists a snapshot's entries, as text, long lines and JSON", async () => {
  const { dir, src, env, id1 } = await twoSnapshots();
  const plain = await cairn(["ls", id1.slice(0, 8), src], { env });
  assertEquals(plain.code, 0, plain.stderr);
  assertEquals(plain.stdout.trimEnd().split("\n"), [
    src,
    `${src}/big.bin`,
    `${src}/edit.txt`,
    `${src}/gone.txt`,
    `${src}/keep.txt`,
    `${src}/sub`,
    `${src}/sub/new\\nline.txt`,
  ]);
  const long = await cairn(["ls", "latest", `${src}/keep.txt`, "-l"], { env });
  assertStringIncludes(long.stdout, "-rw-------");
  const json = JSON.parse((await cairn(["ls", "latest", `${src}/sub`, "--json"], { env })).stdout);
  assertEquals(json.map((e: { path: string; type: string }) => [e.path, e.type]), [
    [`${src}/sub`, "dir"],
    [`${src}/sub/new\nline.txt`, "file"],
  ]);
  assertEquals(json[1].size, 9);
  const missing = await cairn(["ls", "latest", `${src}/nope`], { env });
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "No path");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("dump writes a file's exact bytes; a directory or missing path is an error", async () => {
  const { dir, src, env, big } = await twoSnapshots();
  const r = await cairn(["dump", "latest", `${src}/big.bin`], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stdoutBytes, big);
  const ofDir = await cairn(["dump", "latest", src], { env });
  assertEquals(ofDir.code, 1);
  assertEquals(ofDir.stderr.trim().split("\n").length, 1);
  assertStringIncludes(ofDir.stderr, "is a directory");
  const missing = await cairn(["dump", "latest", `${src}/nope`], { env });
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "No file");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("diff shows added, removed, modified and metadata changes with a summary", async () => {
  const { dir, src, env, id1, id2 } = await twoSnapshots();
  const r = await cairn(["diff", id1, id2], { env });
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.split("\n");
  const has = (prefix: string, path: string) =>
    assert(
      lines.some((l) => l.startsWith(`${prefix}    ${path}`)),
      `${prefix} ${path}\n${r.stdout}`,
    );
  has("+", `${src}/added.txt`);
  has("-", `${src}/gone.txt`);
  has("M", `${src}/edit.txt`);
  has("U", `${src}/keep.txt`);
  assert(!r.stdout.includes(`${src}/big.bin`));
  assertStringIncludes(r.stdout, "1 added, 1 removed, 1 modified");
  const json = lastJson<{ changes: { path: string; change: string }[]; summary: unknown }>(
    await cairn(["diff", id1, id2, "--json"], { env }),
  );
  const mine = json.changes.filter((c) => c.path.startsWith(`${src}/`));
  assertEquals(mine.map((c) => [c.change, c.path.slice(src.length)]), [
    ["added", "/added.txt"],
    ["modified", "/edit.txt"],
    ["removed", "/gone.txt"],
    ["metadata", "/keep.txt"],
  ]);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("find lists matching paths, their versions and snapshots", async () => {
  const { dir, src, env, id1, id2 } = await twoSnapshots();
  const r = await cairn(["find", "edit.txt"], { env });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, `${src}/edit.txt`);
  assertStringIncludes(r.stdout, `in 1 snapshot: ${id1.slice(0, 8)}`);
  assertStringIncludes(r.stdout, `in 1 snapshot: ${id2.slice(0, 8)}`);
  assertStringIncludes(r.stdout, "1 matching path in 2 of 2 snapshots");
  const json = JSON.parse((await cairn(["find", `${src}/*.txt`, "--json"], { env })).stdout);
  const byPath = Object.fromEntries(
    json.paths.map((p: { path: string; versions: { snapshots: string[] }[] }) => [
      p.path.slice(src.length),
      p.versions.map((v) => v.snapshots),
    ]),
  );
  assertEquals(byPath, {
    "/added.txt": [[id2]],
    "/edit.txt": [[id1], [id2]],
    "/gone.txt": [[id1]],
    "/keep.txt": [[id1, id2]],
  });
  const none = await cairn(["find", "*.txt", "--host", "elsewhere"], { env });
  assertStringIncludes(none.stdout, "0 matching paths in 0 of 0 snapshots");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});
