/**
 * `cairn stats` end to end: restore size and deduplicated size of real
 * snapshots, per host and job and in total, in JSON and human form, and its
 * failures (an unknown snapshot, a bad flag).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, writeJobFile } from "./_launcher.ts";

interface Size {
  snapshots: number;
  files: number;
  restore_size: number;
  blobs: number;
  dedup_size: number;
  stored_size: number;
  missing_blobs: number;
}
interface Stats {
  total: Size;
  groups: (Size & { host: string; job: string | null })[];
  repository: { packs: number; pack_bytes: number; indexed_blobs: number };
}

Deno.test("stats: restore size counts every snapshot's files, deduplicated each blob once, per host and job", async () => {
  const { dir, env } = await makeRepo();
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(`${src}/sub`, { recursive: true });
    const random = crypto.getRandomValues(new Uint8Array(60_000));
    await Deno.writeFile(`${src}/a.bin`, random);
    await Deno.writeFile(`${src}/sub/same.bin`, random); // the same content: stored once
    await Deno.writeTextFile(`${src}/text.txt`, "compressible line\n".repeat(4000));
    const tree = 60_000 * 2 + 18 * 4000;
    for (let i = 0; i < 2; i++) {
      const r = await cairn(["backup", src, "--host", "web"], { env });
      assertEquals(r.code, 0, r.stderr);
    }
    // The job's source has one more file of its own, so its group stores more.
    const jobSrc = `${dir}/jobsrc`;
    await Deno.mkdir(jobSrc);
    await Deno.writeFile(`${jobSrc}/own.bin`, crypto.getRandomValues(new Uint8Array(40_000)));
    await Deno.writeFile(`${jobSrc}/a.bin`, random);
    const config = await writeJobFile(dir, env, [
      "[[job]]",
      `name = "nightly"`,
      `repository = "main"`,
      `paths = ["${jobSrc}"]`,
    ]);
    const run = await cairn(["run", "--config", config, "nightly"]);
    assertEquals(run.code, 0, run.stderr);

    const r = await cairn(["stats", "--json"], { env });
    assertEquals(r.code, 0, r.stderr);
    const s = lastJson<Stats>(r);
    const host = (await cairn(["snapshots", "--json"], { env })).stdout;
    const jobHost = (JSON.parse(host) as { host: string; job?: string }[])
      .find((x) => x.job === "nightly")!.host;

    assertEquals(s.total.snapshots, 3);
    assertEquals(s.total.files, 3 + 3 + 2);
    assertEquals(s.total.restore_size, 2 * tree + 100_000);
    assertEquals(s.total.missing_blobs, 0);
    // Deduplicated: the random 60 kB once, the text, the job's 40 kB, and trees.
    assert(s.total.dedup_size >= 60_000 + 72_000 + 40_000, JSON.stringify(s.total));
    assert(s.total.dedup_size < 60_000 * 2 + 72_000 + 40_000, JSON.stringify(s.total));
    // Stored: the text compresses, random data does not; nothing exceeds the packs.
    assert(s.total.stored_size >= 100_000, JSON.stringify(s.total));
    assert(s.total.stored_size < s.total.dedup_size, JSON.stringify(s.total));
    assert(s.total.stored_size <= s.repository.pack_bytes);
    assert(s.repository.packs >= 1);
    assertEquals(s.repository.indexed_blobs, s.total.blobs, "every stored blob is referenced");

    const web = s.groups.find((g) => g.host === "web" && g.job === null)!;
    const job = s.groups.find((g) => g.job === "nightly")!;
    assertEquals(s.groups.length, 2);
    assertEquals(job.host, jobHost);
    assertEquals(web.snapshots, 2);
    assertEquals(web.restore_size, 2 * tree);
    assertEquals(job.snapshots, 1);
    assertEquals(job.files, 2);
    assertEquals(job.restore_size, 100_000);
    // The second web snapshot added nothing: the group is one snapshot's worth.
    assert(web.dedup_size < tree, JSON.stringify(web));
    // Groups share the random file: their sizes add up to more than the total.
    assert(web.dedup_size + job.dedup_size > s.total.dedup_size);
    assert(s.total.dedup_size > Math.max(web.dedup_size, job.dedup_size));

    // Filters and SNAPSHOT arguments narrow what is measured.
    const only = await cairn(["stats", "--host", "web", "--json"], { env });
    assertEquals(only.code, 0, only.stderr);
    const o = lastJson<Stats>(only);
    assertEquals(o.total.snapshots, 2);
    assertEquals(o.total.dedup_size, web.dedup_size);
    assertEquals(o.groups.length, 1);

    // The human form: a table with human sizes, a total and the storage line.
    const human = await cairn(["stats"], { env });
    assertEquals(human.code, 0, human.stderr);
    assertMatch(human.stdout, /^host\s+job\s+snapshots\s+files\s+restore size\s+deduplicated/m);
    assertMatch(human.stdout, /^web\s+-\s+2\s+6\s+\d+\.\d+ KiB/m);
    assertMatch(human.stdout, /^total\s+3\s+8\s+/m);
    assertStringIncludes(human.stdout, `repository: ${s.repository.packs} pack(s)`);
    assertMatch(human.stdout, /deduplication \d+\.\d\dx/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stats: an unknown snapshot or option fails with one line, an empty repository is all zero", async () => {
  const { dir, env } = await makeRepo();
  try {
    const empty = await cairn(["stats", "--json"], { env });
    assertEquals(empty.code, 0, empty.stderr);
    const s = lastJson<Stats>(empty);
    assertEquals(s.total.snapshots, 0);
    assertEquals(s.total.restore_size, 0);
    assertEquals(s.groups, []);

    const missing = await cairn(["stats", "deadbeef"], { env });
    assertEquals(missing.code, 1);
    assertEquals(missing.stderr.trim().split("\n").length, 1, missing.stderr);
    assertStringIncludes(missing.stderr, "deadbeef");

    const bad = await cairn(["stats", "--hostt", "web"], { env });
    assertEquals(bad.code, 2);
    assertStringIncludes(bad.stderr, "did you mean --host?");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
