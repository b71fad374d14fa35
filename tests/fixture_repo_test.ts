/**
 * A repository made by cairn 0.1.0 (format version 2), committed under
 * tests/fixtures/repo-v2: every later version must open, list, check and
 * restore it, and the document's reader (src/testing/format_reader.ts)
 * must read it too. Never regenerate the fixture to make a test pass: a
 * change that breaks it breaks every repository already written.
 *
 * It was made with `cairn init --kdf-memory 8 --kdf-iterations 1` and
 * `cairn backup /tmp/cairn-fixture-v2 --tag fixture` of the tree below,
 * every mtime set to 2026-11-22T04:30:14Z.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { docReadRepository, docWalk } from "../src/testing/format_reader.ts";
import { cairn, lastJson } from "./_launcher.ts";

const FIXTURE = fileURLToPath(new URL("./fixtures/repo-v2", import.meta.url));
const PASSWORD = "fixture password v2";
const SOURCE = "/tmp/cairn-fixture-v2";
const SNAPSHOT = "05c57b6a794ed9a79075e7a345b9336c54ced807630f3303bfd075bb12cca15d";
const MTIME_NS = String(Date.UTC(2026, 10, 22, 4, 30, 14) * 1e6);

const LINES = Array.from(
  { length: 120 },
  (_, i) => `line ${String(i).padStart(4, "0")} of the fixture\n`,
).join("");

/** What the fixture's snapshot holds: path → file content, "dir", or "-> target". */
const EXPECTED: Record<string, string> = {
  "/README": "cairn fixture, format version 2\n",
  "/docs": "dir",
  "/docs/lines.txt": LINES,
  "/docs/notes": "dir",
  "/docs/notes/ünïcode ✓.txt": "näme with ✓\n",
  "/empty": "",
  "/link": "-> docs/lines.txt",
};

/** A copy of the fixture, so nothing a command does can change the committed files. */
async function fixtureCopy(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await Deno.makeTempDir({ prefix: "cairn-fixture-" });
  const copy = async (from: string, to: string) => {
    await Deno.mkdir(to, { recursive: true });
    for await (const e of Deno.readDir(from)) {
      if (e.isDirectory) await copy(`${from}/${e.name}`, `${to}/${e.name}`);
      else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  };
  await copy(FIXTURE, `${dir}/repo`);
  return { dir, env: { CAIRN_REPO: `${dir}/repo`, CAIRN_PASSWORD: PASSWORD } };
}

Deno.test("the v2 fixture reads as docs/FORMAT.md describes it", async () => {
  const repo = await docReadRepository(FIXTURE, PASSWORD);
  const { config } = repo;
  assertEquals(config.version, 2);
  assert(/^[0-9a-f]{32}$/.test(config.id as string), `config id ${config.id}`);
  assertEquals(Object.keys(config.chunker as object).sort(), ["avg", "max", "min"]);
  assertEquals([...repo.snapshots.keys()], [SNAPSHOT]);
  const snap = repo.snapshots.get(SNAPSHOT)!;
  assertEquals([snap.paths, snap.tags], [[SOURCE], ["fixture"]]);
  // The root tree holds the source under its absolute path: tmp → cairn-fixture-v2.
  const all = docWalk(repo, snap.tree as string);
  const under = all.filter((e) => e.path.startsWith(`${SOURCE}/`));
  assertEquals(all.map((e) => e.path).slice(0, 2), ["/tmp", SOURCE]);
  const seen: Record<string, string> = {};
  for (const { path, node, content } of under) {
    const rel = path.slice(SOURCE.length);
    seen[rel] = node.type === "dir"
      ? "dir"
      : node.type === "symlink"
      ? `-> ${node.target}`
      : new TextDecoder().decode(content);
    assertEquals(node.mtime, MTIME_NS, `mtime of ${rel}`);
  }
  assertEquals(seen, EXPECTED);
  const readme = under.find((e) => e.path === `${SOURCE}/README`)!;
  assertEquals([readme.node.mode, readme.node.size], [0o640, 32]);
});

Deno.test("cairn opens, lists, checks and restores the v2 fixture", async () => {
  const { dir, env } = await fixtureCopy();
  const snaps = await cairn(["snapshots", "--json"], { env });
  assertEquals(snaps.code, 0, snaps.stderr);
  const list = lastJson<{ id: string; paths: string[]; tags: string[] }[]>(snaps);
  assertEquals(list.map((s) => [s.id, s.paths, s.tags]), [[SNAPSHOT, [SOURCE], ["fixture"]]]);

  const ls = await cairn(["ls", SNAPSHOT.slice(0, 8), SOURCE, "--json"], { env });
  assertEquals(ls.code, 0, ls.stderr);
  const entries = lastJson<{ path: string; type: string; size?: number }[]>(ls);
  assertEquals(
    entries.map((e) => e.path.slice(SOURCE.length)).filter((p) => p !== ""),
    Object.keys(EXPECTED),
  );

  const check = await cairn(["check", "--read-data"], { env });
  assertEquals(check.code, 0, check.stdout + check.stderr);
  assertStringIncludes(check.stdout, "no errors found");

  const out = `${dir}/out`;
  const r = await cairn(["restore", "latest", "--target", out], { env });
  assertEquals(r.code, 0, r.stderr);
  for (const [rel, want] of Object.entries(EXPECTED)) {
    const path = `${out}${SOURCE}${rel}`;
    if (want === "dir") assert((await Deno.lstat(path)).isDirectory, `${rel} is a directory`);
    else if (want.startsWith("-> ")) assertEquals(await Deno.readLink(path), want.slice(3));
    else assertEquals(await Deno.readTextFile(path), want, rel);
  }
  const readme = await Deno.lstat(`${out}${SOURCE}/README`);
  assertEquals(readme.mode! & 0o7777, 0o640);
  assertEquals(readme.mtime!.getTime(), Number(BigInt(MTIME_NS) / 1_000_000n));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the v2 fixture refuses a wrong password with exit 1 and a clear message", async () => {
  const { dir, env } = await fixtureCopy();
  const r = await cairn(["snapshots"], { env: { ...env, CAIRN_PASSWORD: "not the password" } });
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, "Wrong password");
  await Deno.remove(dir, { recursive: true });
});
