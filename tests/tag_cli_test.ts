/**
 * `cairn tag --add/--remove/--set` end to end: the snapshot is written anew
 * with `original`, the old file goes, the data stays restorable.
 */
import { assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, testRepo } from "./_launcher.ts";

interface Snap {
  id: string;
  tags: string[] | null;
  host: string;
  original?: string;
}

async function setup() {
  const t = await testRepo();
  await Deno.writeTextFile(`${t.src}/a.txt`, "hello\n");
  for (const host of ["web", "db"]) await t.backup("--host", host, "--tag", "base");
  return { ...t, snapshots: () => t.snapshots<Snap>() };
}

Deno.test("tag --add, --remove and --set rewrite the snapshot file and record the original", async () => {
  await using t = await setup();
  const [web, db] = await t.snapshots();
  const r = await cairn(["tag", "--add", "keep,audit", web.id.slice(0, 8), "--json"], {
    env: t.env,
  });
  assertEquals(r.code, 0, r.stderr);
  const out = lastJson<{ changed: { old_id: string; new_id: string }[]; unchanged: number }>(r);
  assertEquals(out.changed.length, 1);
  assertEquals(out.changed[0].old_id, web.id);
  let now = await t.snapshots();
  const tagged = now.find((s) => s.host === "web")!;
  assertEquals(tagged.id, out.changed[0].new_id);
  assertEquals(tagged.tags, ["audit", "base", "keep"]);
  assertEquals(tagged.original, web.id);
  assertEquals(now.length, 2, "the old snapshot file is gone");

  // Again: nothing changes, nothing is rewritten.
  const same = await cairn(["tag", "--add", "keep", tagged.id], { env: t.env });
  assertEquals(same.code, 0, same.stderr);
  assertStringIncludes(same.stdout, "changed the tags of 0 of 1 snapshot(s)");

  const rm = await cairn(["tag", "--remove", "base", "--remove", "audit", "--host", "web"], {
    env: t.env,
  });
  assertEquals(rm.code, 0, rm.stderr);
  now = await t.snapshots();
  const second = now.find((s) => s.host === "web")!;
  assertEquals(second.tags, ["keep"]);
  assertEquals(second.original, web.id, "original names the first snapshot of the chain");
  assertEquals(now.find((s) => s.host === "db")!.tags, ["base"], "--host left db alone");

  const set = await cairn(["tag", "--set", "only"], { env: t.env });
  assertEquals(set.code, 0, set.stderr);
  now = await t.snapshots();
  assertEquals(now.map((s) => s.tags), [["only"], ["only"]]);
  assertEquals(now.find((s) => s.host === "db")!.original, db.id);
  const dump = await cairn(["dump", "latest", `${t.src}/a.txt`, "--host", "db"], { env: t.env });
  assertEquals(dump.stdout, "hello\n");
  const check = await cairn(["check"], { env: t.env });
  assertEquals(check.code, 0, check.stderr);

  const none = await cairn(["tag", "--set", ""], { env: t.env });
  assertEquals(none.code, 0, none.stderr);
  assertEquals((await t.snapshots()).map((s) => s.tags ?? []), [[], []]);
});

Deno.test("tag refuses no change, --set beside --add, and unknown ids, changing nothing", async () => {
  await using t = await setup();
  const before = await t.snapshots();
  const cases: [string[], number, string][] = [
    [["tag", before[0].id], 2, "nothing to do: give --add, --remove or --set"],
    [["tag", "--set", "a", "--add", "b"], 2, "--set cannot be combined with --add or --remove"],
    [
      ["tag", "--add", "x", before[0].id, "abcdef0123"],
      1,
      'No snapshot found with id "abcdef0123"',
    ],
    [["tag", "--add", "x", before[0].id, "--host", "db"], 1, "does not match --host db"],
  ];
  for (const [args, code, msg] of cases) {
    const r = await cairn(args, { env: t.env });
    assertEquals(r.code, code, args.join(" "));
    assertStringIncludes(r.stderr, msg);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assertEquals(await t.snapshots(), before);
});
