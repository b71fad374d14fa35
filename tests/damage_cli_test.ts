/** One damaged file in the repository hides only what depends on it. */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";
import { lstatOrNull } from "../src/fs/mod.ts";

/** Every file of one kind in the repository, as paths. */
function filesOf(repo: string, kind: "snapshots" | "index" | "data"): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      if (e.isDirectory) walk(`${d}/${e.name}`);
      else if (!e.name.startsWith(".")) out.push(`${d}/${e.name}`);
    }
  };
  walk(`${repo}/${kind}`);
  return out.sort();
}

/** Flips one byte of a file `at` bytes from its start. */
function flip(path: string, at: number): void {
  const bytes = Deno.readFileSync(path);
  bytes[at] ^= 0x40;
  Deno.writeFileSync(path, bytes);
}

async function twoBackups() {
  const { dir, env } = await makeRepo();
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  await Deno.writeTextFile(`${src}/one.txt`, "first\n");
  const b1 = await cairn(["backup", src, "--json"], { env });
  assertEquals(b1.code, 0, b1.stderr);
  await Deno.writeTextFile(`${src}/two.txt`, "second\n");
  const b2 = await cairn(["backup", src, "--json"], { env });
  assertEquals(b2.code, 0, b2.stderr);
  const ids = [b1, b2].map((r) => lastJson<{ snapshot: string }>(r).snapshot);
  return { dir, env, src, repo: `${dir}/repo`, ids };
}

Deno.test("a damaged snapshot file is skipped with a warning; prune refuses to run", async () => {
  const { dir, env, src, repo, ids } = await twoBackups();
  const bad = filesOf(repo, "snapshots").find((p) => p.endsWith(ids[0]))!;
  flip(bad, 40);
  const list = await cairn(["snapshots", "--json"], { env });
  assertEquals(list.code, 0, list.stderr);
  assertEquals(JSON.parse(list.stdout).map((s: { id: string }) => s.id), [ids[1]]);
  assertStringIncludes(list.stderr, `warning: skipping snapshot file snapshots/${ids[0]}`);
  const out = `${dir}/out`;
  const r = await cairn(["restore", ids[1], "--target", out], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(Deno.readTextFileSync(`${out}${src}/two.txt`), "second\n");
  const b = await cairn(["backup", src], { env });
  assertEquals(b.code, 0, b.stderr);
  const f = await cairn(["forget", "--keep-last", "1"], { env });
  assertEquals(f.code, 0, f.stderr);
  const p = await cairn(["prune", "--grace", "0"], { env });
  assertEquals(p.code, 1);
  assertStringIncludes(p.stderr, ids[0]);
  assertStringIncludes(p.stderr, "nothing was pruned");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("with one of two index files damaged, restore finds blobs in pack headers", async () => {
  const { dir, env, src, repo, ids } = await twoBackups();
  const index = filesOf(repo, "index");
  assertEquals(index.length, 2);
  flip(index[0], 30);
  for (const id of ids) {
    const out = `${dir}/out-${id}`;
    const r = await cairn(["restore", id, "--target", out], { env });
    assertEquals(r.code, 0, r.stderr);
    assertStringIncludes(r.stderr, "warning: skipping index file index/");
    assertEquals(Deno.readTextFileSync(`${out}${src}/one.txt`), "first\n");
  }
  const p = await cairn(["prune", "--grace", "0"], { env });
  assertEquals(p.code, 1);
  assertStringIncludes(p.stderr, "nothing was pruned");
  const b = await cairn(["backup", src], { env });
  assertEquals(b.code, 1);
  assertStringIncludes(b.stderr, "cairn repair index");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("a flipped byte in a tree pack loses only the directories it holds", async () => {
  const { dir, env } = await makeRepo();
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  // Only empty files: the first backup's pack holds trees alone.
  await Deno.mkdir(`${src}/old/deep`, { recursive: true });
  await Deno.writeTextFile(`${src}/old/deep/e`, "");
  const b1 = await cairn(["backup", src], { env });
  assertEquals(b1.code, 0, b1.stderr);
  const first = filesOf(`${dir}/repo`, "data");
  assertEquals(first.length, 1);
  await Deno.mkdir(`${src}/new`);
  await Deno.writeTextFile(`${src}/new/n.txt`, "new\n");
  const b2 = await cairn(["backup", src, "--json"], { env });
  assertEquals(b2.code, 0, b2.stderr);
  // old/ is unchanged, so snapshot 2 reuses its trees from the first pack.
  flip(first[0], 40);
  const out = `${dir}/out`;
  const r = await cairn(["restore", "latest", "--target", out], { env });
  assertEquals(r.code, 1);
  assertEquals(Deno.readTextFileSync(`${out}${src}/new/n.txt`), "new\n");
  assertStringIncludes(r.stderr, `error: ${src}/old: directory not restored: tree `);
  assert(!r.stderr.includes("new/n.txt"), r.stderr);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("temp files a kill left are reported by check and removed by prune once old", async () => {
  const { dir, env } = await makeRepo();
  const repo = `${dir}/repo`;
  Deno.mkdirSync(`${repo}/data/ab`, { recursive: true });
  const old = [`${repo}/data/ab/.tmp-0123abcd`, `${repo}/index/.tmp-89ef4567`];
  for (const p of old) {
    Deno.writeFileSync(p, new Uint8Array(100));
    const t = new Date(Date.now() - 2 * 3600_000);
    Deno.utimeSync(p, t, t);
  }
  const fresh = `${repo}/snapshots/.tmp-00ff00ff`;
  Deno.writeFileSync(fresh, new Uint8Array(10));
  const c = await cairn(["check"], { env });
  assertEquals(c.code, 0, c.stderr);
  for (const name of ["data/ab/.tmp-0123abcd", "index/.tmp-89ef4567", "snapshots/.tmp-00ff00ff"]) {
    assertStringIncludes(
      c.stdout,
      `warning: temporary file ${name}: is left from an interrupted write`,
    );
  }
  const p = await cairn(["prune", "--json"], { env });
  assertEquals(p.code, 0, p.stderr);
  assertEquals(lastJson<{ temporary_files_deleted: number }>(p).temporary_files_deleted, 2);
  for (const f of old) assertEquals(lstatOrNull(f), null);
  assert(lstatOrNull(fresh) !== null, "a temp file younger than the grace may be a running save's");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("repair index rebuilds a damaged index from the pack headers", async () => {
  const { dir, env, src, repo } = await twoBackups();
  flip(filesOf(repo, "index")[0], 30);
  const r = await cairn(["repair", "index"], { env });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "replacing 2 index file(s)");
  assertEquals(filesOf(repo, "index").length, 1);
  const c = await cairn(["check", "--read-data"], { env });
  assertEquals(c.code, 0, c.stdout);
  assert(!c.stdout.includes("warning"), c.stdout);
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  assertEquals((await cairn(["prune", "--grace", "0"], { env })).code, 0);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("repair snapshots keeps what a damaged tree pack left and names what it lost", async () => {
  const { dir, env } = await makeRepo();
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  await Deno.mkdir(`${src}/old/deep`, { recursive: true });
  await Deno.writeTextFile(`${src}/old/deep/e`, "");
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const first = filesOf(`${dir}/repo`, "data");
  await Deno.mkdir(`${src}/new`);
  await Deno.writeTextFile(`${src}/new/n.txt`, "new\n");
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  flip(first[0], 40);
  const r = await cairn(["repair", "snapshots", "--forget", "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { repaired: { id: string; lost: string[] }[] };
  assertEquals(out.repaired.length, 2);
  assertEquals(out.repaired.map((s) => s.lost).sort(), [["/"], [`${src}/old`]]);
  const list = JSON.parse((await cairn(["snapshots", "--json"], { env })).stdout);
  assertEquals(list.length, 2);
  assert(list.every((s: { tags: string[] }) => s.tags.includes("repaired")));
  const target = `${dir}/out`;
  const restored = await cairn(["restore", "latest", "--target", target], { env });
  assertEquals(restored.code, 0, restored.stderr);
  assertEquals(Deno.readTextFileSync(`${target}${src}/new/n.txt`), "new\n");
  assertEquals([...Deno.readDirSync(`${target}${src}/old`)], []);
  const c = await cairn(["check"], { env });
  assertEquals(c.code, 0, c.stdout);
  assertEquals((await cairn(["prune", "--grace", "0"], { env })).code, 0);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("dump writes a file around a damaged blob, names it and exits 1", async () => {
  const { dir, env } = await makeRepo();
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  const big = new Uint8Array(6 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
  await Deno.writeFile(`${src}/big.bin`, big);
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  // The largest pack holds the file's blobs; damage one in its middle.
  const packs = filesOf(`${dir}/repo`, "data");
  const largest = packs.reduce((a, b) => (Deno.statSync(a).size >= Deno.statSync(b).size ? a : b));
  flip(largest, Math.floor(Deno.statSync(largest).size / 2));
  const r = await cairn(["dump", "latest", `${src}/big.bin`], { env });
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, "written as zeros");
  assertEquals(r.stdoutBytes.length, big.length);
  let first = -1;
  let last = -1;
  for (let i = 0; i < big.length; i++) {
    if (r.stdoutBytes[i] === big[i]) continue;
    if (first < 0) first = i;
    last = i;
  }
  // The damaged blob may be any chunk of the file (the first one too, when the
  // pack's middle falls there); what matters is that some bytes differ and the
  // rest of the file is written around them.
  assert(first >= 0, "the damaged blob changed nothing");
  assert(
    last - first + 1 < big.length,
    `bytes ${first}..${last} differ: nothing written around them`,
  );
  assert(r.stdoutBytes.subarray(first, last + 1).every((b) => b === 0), "only zeros replace");
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});
