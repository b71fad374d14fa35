/**
 * `cairn rewrite` end to end: excluded paths leave the snapshots, the
 * originals go only with --forget, and after a prune the secret's bytes are
 * nowhere in the repository.
 */
import { LocalBackend } from "../src/backend/mod.ts";
import { Repository } from "../src/repo/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, testRepo } from "./_launcher.ts";

interface Snap {
  id: string;
  original?: string;
}

const SECRET = "the-password-that-should-never-have-been-backed-up ".repeat(2000);

async function setup() {
  const t = await testRepo();
  await Deno.mkdir(`${t.src}/etc`);
  await Deno.writeTextFile(`${t.src}/etc/secret.key`, SECRET);
  await Deno.writeTextFile(`${t.src}/etc/kept.conf`, "kept\n");
  for (let i = 0; i < 2; i++) {
    await Deno.writeTextFile(`${t.src}/notes.txt`, `notes ${i}\n`);
    await t.backup();
  }
  return { ...t, snapshots: () => t.snapshots<Snap>() };
}

Deno.test("rewrite --exclude --forget, then prune: the secret is not restorable and its bytes are gone", async () => {
  await using t = await setup();
  const before = await t.snapshots();
  const secretPath = `${t.src}/etc/secret.key`;

  const dry = await cairn(["rewrite", "--exclude", "secret.key", "--dry-run", "--forget"], {
    env: t.env,
  });
  assertEquals(dry.code, 0, dry.stderr);
  assertStringIncludes(dry.stdout, `removed: ${secretPath}`);
  assertStringIncludes(dry.stdout, "would rewrite 2 of 2 snapshot(s)");
  assertEquals(await t.snapshots(), before);

  const r = await cairn(["rewrite", "--exclude", secretPath, "--forget", "--json"], {
    env: t.env,
  });
  assertEquals(r.code, 0, r.stderr);
  const out = lastJson<{ rewritten: { old_id: string; new_id: string; removed: string[] }[] }>(r);
  assertEquals(out.rewritten.map((w) => w.old_id), before.map((s) => s.id));
  assertEquals(out.rewritten.map((w) => w.removed), [[secretPath], [secretPath]]);
  const after = await t.snapshots();
  assertEquals(after.map((s) => s.id), out.rewritten.map((w) => w.new_id));
  assertEquals(after.map((s) => s.original), before.map((s) => s.id));

  const prune = await cairn(["prune", "--grace", "0"], { env: t.env });
  assertEquals(prune.code, 0, prune.stderr);
  const check = await cairn(["check", "--read-data"], { env: t.env });
  assertEquals(check.code, 0, check.stderr);

  for (const s of after) {
    const gone = await cairn(["dump", s.id, secretPath], { env: t.env });
    assertEquals(gone.code, 1, gone.stdout.slice(0, 80));
    const kept = await cairn(["dump", s.id, `${t.src}/etc/kept.conf`], { env: t.env });
    assertEquals(kept.stdout, "kept\n");
  }
  const latest = await cairn(["dump", "latest", `${t.src}/notes.txt`], { env: t.env });
  assertEquals(latest.stdout, "notes 1\n");

  // No data blob left in the repository holds any of the secret's bytes.
  const repo = await Repository.open(new LocalBackend(t.env.CAIRN_REPO), t.env.CAIRN_PASSWORD);
  const marker = "the-password-that-should-never";
  let blobs = 0;
  for (const [id, entry] of repo.index.entries()) {
    if (entry.type !== "data") continue;
    blobs++;
    const text = new TextDecoder().decode(await repo.loadBlob("data", id));
    assert(!text.includes(marker), `data blob ${id} still holds the secret`);
  }
  assert(blobs >= 3, `the kept files' blobs are still there (${blobs})`);
});

Deno.test("rewrite without --forget keeps the originals; a snapshot without the path is left alone", async () => {
  await using t = await setup();
  const [first, second] = await t.snapshots();
  await Deno.writeTextFile(`${t.dir}/excludes`, "# the secret\n\n*.key\n");
  const r = await cairn(["rewrite", "--exclude-file", `${t.dir}/excludes`, first.id.slice(0, 8)], {
    env: t.env,
  });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "rewrote 1 of 1 snapshot(s)");
  const now = await t.snapshots();
  assertEquals(now.length, 3);
  const fresh = now.find((s) => s.original === first.id)!;
  const dump = await cairn(["dump", first.id, `${t.src}/etc/secret.key`], { env: t.env });
  assertEquals(dump.code, 0, "the original is still there, secret and all");
  assertEquals(
    (await cairn(["dump", fresh.id, `${t.src}/etc/secret.key`], { env: t.env })).code,
    1,
  );
  assertEquals(now.filter((s) => s.id === second.id).length, 1);

  const again = await cairn(["rewrite", "--exclude", "*.key", fresh.id], { env: t.env });
  assertEquals(again.code, 0, again.stderr);
  assertStringIncludes(again.stdout, "rewrote 0 of 1 snapshot(s)");
  assertEquals((await t.snapshots()).length, 3);
});

Deno.test("rewrite refuses no pattern, a missing exclude file and unknown ids (one line, nothing written)", async () => {
  await using t = await setup();
  const before = await t.snapshots();
  const cases: [string[], number, string][] = [
    [["rewrite"], 2, "nothing to remove: give --exclude, --iexclude or --exclude-file"],
    [["rewrite", "--exclude-file", `${t.dir}/nope`], 2, `--exclude-file ${t.dir}/nope`],
    [["rewrite", "--exclude", "x", "abcdef012345"], 1, 'No snapshot found with id "abcdef012345"'],
    [["rewrite", "--exclude", " "], 2, "Empty exclude pattern"],
  ];
  for (const [args, code, msg] of cases) {
    const r = await cairn(args, { env: t.env });
    assertEquals(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, msg);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  assertEquals(await t.snapshots(), before);
});
