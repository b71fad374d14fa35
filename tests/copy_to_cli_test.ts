import { assert, assertEquals, assertMatch } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, writeJobFile } from "./_launcher.ts";

interface SnapshotJson {
  id: string;
  original?: string;
  job?: string;
}

async function snapshotsOf(env: Record<string, string>): Promise<SnapshotJson[]> {
  const r = await cairn(["snapshots", "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  return lastJson<SnapshotJson[]>(r);
}

Deno.test("cairn run with copy_to copies each new snapshot offsite and thins it there", async () => {
  const { dir, env } = await makeRepo();
  try {
    // The offsite repository is made independently: its blob ids differ, so the copy re-chunks.
    const offsite = { ...env, CAIRN_REPO: `${dir}/offsite` };
    const init = await cairn(["init", "--kdf-memory", "8", "--kdf-iterations", "1"], {
      env: offsite,
    });
    assertEquals(init.code, 0, init.stderr);
    const src = `${dir}/src`;
    await Deno.mkdir(`${src}/sub`, { recursive: true });
    await Deno.writeTextFile(`${src}/a.txt`, "alpha\n".repeat(1000));
    await Deno.writeFile(`${src}/sub/b.bin`, crypto.getRandomValues(new Uint8Array(60000)));
    const config = await writeJobFile(dir, env, [
      "[repository.offsite]",
      `path = "${offsite.CAIRN_REPO}"`,
      `password_file = "${dir}/password"`,
      "[[job]]",
      `name = "docs"`,
      `repository = "main"`,
      `paths = ["${src}"]`,
      `copy_to = [{ repository = "offsite", keep = { last = 2 } }]`,
    ]);
    const run = async () => {
      const r = await cairn(["run", "--config", config, "docs"]);
      assertEquals(r.code, 0, r.stderr);
      const [s] = (await snapshotsOf(env)).slice(-1);
      assertMatch(r.stderr, new RegExp(`copied snapshot ${s.id.slice(0, 8)} to "offsite" as`));
      return s.id;
    };

    const s1 = await run();
    const [c1] = await snapshotsOf(offsite);
    assertEquals([c1.original, c1.job], [s1, "docs"]);
    const out = `${dir}/restored`;
    const restore = await cairn(["restore", "latest", "--target", out], { env: offsite });
    assertEquals(restore.code, 0, restore.stderr);
    for (const f of ["a.txt", "sub/b.bin"]) {
      assertEquals(await Deno.readFile(`${out}${src}/${f}`), await Deno.readFile(`${src}/${f}`));
    }

    await Deno.writeTextFile(`${src}/c.txt`, "charlie\n");
    const s2 = await run();
    // Only the new snapshot is copied: the first copy is the same snapshot file as before.
    const after2 = await snapshotsOf(offsite);
    assertEquals(after2.map((s) => s.original), [s1, s2]);
    assertEquals(after2[0].id, c1.id);

    await Deno.writeTextFile(`${src}/c.txt`, "charlie again\n");
    const s3 = await run();
    // keep = { last = 2 } offsite; the job's own repository has no keep and holds all three.
    assertEquals((await snapshotsOf(offsite)).map((s) => s.original), [s2, s3]);
    assertEquals((await snapshotsOf(env)).map((s) => s.id), [s1, s2, s3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cairn run exits 2 with one line when copy_to names an unknown repository", async () => {
  const { dir, env } = await makeRepo();
  try {
    const config = await writeJobFile(dir, env, [
      "[[job]]",
      `name = "docs"`,
      `paths = ["${dir}"]`,
      `copy_to = ["offsite"]`,
    ]);
    const r = await cairn(["run", "--config", config]);
    assertEquals(r.code, 2, r.stderr);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    assertMatch(r.stderr, /key "copy_to\[0\]": unknown repository "offsite" \(defined: "main"\)/);
    assertEquals(await snapshotsOf(env), [], "nothing ran");
    assert(r.stderr.includes(config));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cairn run exits 1 naming the target when a copy fails, keeps the snapshot, and status says so", async () => {
  const { dir, env } = await makeRepo();
  try {
    // No repository at offsite's path (and no init = true): the copy cannot open it.
    const config = await writeJobFile(dir, env, [
      "[repository.offsite]",
      `path = "${dir}/offsite"`,
      `password_file = "${dir}/password"`,
      "[[job]]",
      `name = "docs"`,
      `repository = "main"`,
      `paths = ["${dir}/password"]`,
      `copy_to = ["offsite"]`,
    ]);
    const r = await cairn(["run", "--config", config, "docs"]);
    assertEquals(r.code, 1, r.stderr);
    const [s] = await snapshotsOf(env);
    assertMatch(
      r.stdout,
      new RegExp(
        `^job "docs": failed, snapshot ${s.id.slice(0, 8)}, .*: copy to "offsite" failed: `,
      ),
    );
    assertEquals(r.stdout.trim().split("\n").length, 1, r.stdout);
    const status = await cairn(["status", "--config", config, "--json"]);
    assertEquals(status.code, 1, "status exits 1 while a job's last run failed");
    const [docs] = lastJson<{ result: string; snapshot: string; error: string }[]>(status);
    assertEquals([docs.result, docs.snapshot], ["failed", s.id]);
    assertMatch(docs.error, /^copy to "offsite" failed: /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
