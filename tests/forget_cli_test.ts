/**
 * `cairn forget SNAPSHOT...` (by id) and `--unsafe-allow-remove-all`, end to
 * end: prefixes, ambiguous and unknown ids, all-or-nothing, `--prune`.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";

interface Snap {
  id: string;
  tags: string[] | null;
}

async function setup(count: number) {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  for (let i = 0; i < count; i++) {
    await Deno.writeTextFile(`${src}/a.txt`, `version ${i}\n`);
    const r = await cairn(["backup", src, "--tag", `v${i}`], { env });
    assertEquals(r.code, 0, r.stderr);
  }
  const snapshots = async () => {
    const r = await cairn(["snapshots", "--json"], { env });
    assertEquals(r.code, 0, r.stderr);
    return lastJson<Snap[]>(r);
  };
  return {
    dir,
    env,
    src,
    snapshots,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

Deno.test("forget SNAPSHOT... removes exactly those snapshots, by id or unique prefix", async () => {
  await using t = await setup(3);
  const [a, b, c] = await t.snapshots();
  const dry = await cairn(["forget", a.id.slice(0, 6), "--dry-run"], { env: t.env });
  assertEquals(dry.code, 0, dry.stderr);
  assertStringIncludes(dry.stdout, `would remove snapshot ${a.id.slice(0, 8)}`);
  assertStringIncludes(dry.stdout, "would remove 1 snapshot (dry run)");
  assertEquals((await t.snapshots()).length, 3);

  const r = await cairn(["forget", a.id.slice(0, 6), c.id, c.id.slice(0, 10), "--json"], {
    env: t.env,
  });
  assertEquals(r.code, 0, r.stderr);
  const out = lastJson<{ dry_run: boolean; removed: { id: string }[] }>(r);
  assertEquals(out.dry_run, false);
  assertEquals(out.removed.map((s) => s.id), [a.id, c.id]);
  assertEquals((await t.snapshots()).map((s) => s.id), [b.id]);

  const text = await cairn(["forget", "latest"], { env: t.env });
  assertEquals(text.code, 0, text.stderr);
  assertStringIncludes(text.stdout, `removed snapshot ${b.id.slice(0, 8)}`);
  assertEquals(await t.snapshots(), []);
});

Deno.test("forget with an unknown or ambiguous id is a one-line error and removes nothing", async () => {
  await using t = await setup(2);
  const [a] = await t.snapshots();
  const unknown = a.id.startsWith("f") ? "0000000" : "fffffff";
  const r = await cairn(["forget", a.id, unknown], { env: t.env });
  assertEquals(r.code, 1);
  assertEquals(r.stderr, `cairn forget: No snapshot found with id "${unknown}"\n`);
  assertEquals((await t.snapshots()).length, 2, "the known id is not removed either");

  const bad = await cairn(["forget", "not-an-id"], { env: t.env });
  assertEquals(bad.code, 1);
  assertEquals(bad.stderr.trim().split("\n").length, 1);
  assertStringIncludes(bad.stderr, `"not-an-id"`);

  // Back up until two ids share their first hex digit: that digit is an ambiguous prefix.
  let snaps = await t.snapshots();
  const src = t.src;
  for (let i = 0; i < 40; i++) {
    const firsts = snaps.map((s) => s.id[0]);
    if (new Set(firsts).size < firsts.length) break;
    await Deno.writeTextFile(`${src}/a.txt`, `more ${i}\n`);
    assertEquals((await cairn(["backup", src], { env: t.env })).code, 0);
    snaps = await t.snapshots();
  }
  const digit = snaps.map((s) => s.id[0]).find((d, i, all) => all.indexOf(d) !== i)!;
  const matching = snaps.filter((s) => s.id.startsWith(digit));
  const amb = await cairn(["forget", digit], { env: t.env });
  assertEquals(amb.code, 1);
  assertEquals(amb.stderr.trim().split("\n").length, 1);
  assertMatch(amb.stderr, /^cairn forget: Snapshot prefix "[0-9a-f]" is ambiguous: \d+ match: /);
  for (const s of matching.slice(0, 5)) assertStringIncludes(amb.stderr, s.id.slice(0, 12));
  assertEquals((await t.snapshots()).length, snaps.length);
});

Deno.test("forget SNAPSHOT refuses --keep-* and filters beside ids (exit 2)", async () => {
  await using t = await setup(1);
  const [a] = await t.snapshots();
  for (const extra of [["--keep-last", "1"], ["--host", "x"], ["--unsafe-allow-remove-all"]]) {
    const r = await cairn(["forget", a.id, ...extra], { env: t.env });
    assertEquals(r.code, 2, extra.join(" "));
    assertStringIncludes(r.stderr, `${extra[0]} cannot be combined with SNAPSHOT arguments`);
    assertEquals(r.stderr.trim().split("\n").length, 1);
  }
  assertEquals((await t.snapshots()).length, 1);
});

Deno.test("forget SNAPSHOT --prune frees the data only that snapshot used", async () => {
  await using t = await setup(2);
  const [a, b] = await t.snapshots();
  const r = await cairn(["forget", a.id, "--prune", "--json"], { env: t.env });
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assertEquals(lines[0].removed.map((s: Snap) => s.id), [a.id]);
  assert("prune" in lines[1], r.stdout);
  assertEquals((await t.snapshots()).map((s) => s.id), [b.id]);
  const check = await cairn(["check", "--read-data"], { env: t.env });
  assertEquals(check.code, 0, check.stderr);
  const dump = await cairn(["dump", b.id, `${t.src}/a.txt`], { env: t.env });
  assertEquals(dump.stdout, "version 1\n");
});

Deno.test("a policy that empties a group is refused unless --unsafe-allow-remove-all", async () => {
  await using t = await setup(2);
  const refused = await cairn(["forget", "--keep-tag", "nope"], { env: t.env });
  assertEquals(refused.code, 1);
  assertStringIncludes(refused.stderr, "Refusing to remove all 2 snapshots of a group");
  assertStringIncludes(refused.stderr, "--unsafe-allow-remove-all allows it");
  assertEquals((await t.snapshots()).length, 2);

  const kept = await cairn(["forget", "--keep-tag", "v1", "--unsafe-allow-remove-all"], {
    env: t.env,
  });
  assertEquals(kept.code, 0, kept.stderr);
  assertEquals((await t.snapshots()).map((s) => s.tags), [["v1"]]);

  const empty = await cairn(["forget", "--keep-tag", "nope", "--unsafe-allow-remove-all"], {
    env: t.env,
  });
  assertEquals(empty.code, 0, empty.stderr);
  assertStringIncludes(empty.stdout, "removed 1 snapshot");
  assertEquals(await t.snapshots(), []);

  const noPolicy = await cairn(["forget"], { env: t.env });
  assertEquals(noPolicy.code, 2);
  assertStringIncludes(noPolicy.stderr, "refusing to remove every snapshot");
});

Deno.test("forget --unsafe-allow-remove-all with no --keep-* removes every selected snapshot", async () => {
  await using t = await setup(2);
  const other = await cairn(["backup", t.src, "--host", "keepme"], { env: t.env });
  assertEquals(other.code, 0, other.stderr);
  const host = (await t.snapshots()).length;
  assertEquals(host, 3);
  const r = await cairn(
    ["forget", "--unsafe-allow-remove-all", "--host", Deno.hostname()],
    { env: t.env },
  );
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "removed 2 snapshots");
  assertEquals((await t.snapshots()).length, 1);
});
