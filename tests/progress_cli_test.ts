import { assert, assertEquals, assertMatch } from "../src/testing/asserts.ts";
import { cairn, makeRepo, randomBytes } from "./_launcher.ts";

const FORCED = { CAIRN_PROGRESS: "1", CAIRN_PROGRESS_FPS: "50" };

/** The progress lines of a run (frames start with the elapsed time). */
const frames = (stderr: string) => stderr.split("\n").filter((l) => /^\[\d+:\d\d\] /.test(l));

Deno.test("backup, restore, mirror and check --read-data show restic-like progress, with totals", async () => {
  const { dir, env } = await makeRepo();
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(`${src}/sub`, { recursive: true });
    const big = new Uint8Array(24 << 20);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    await Deno.writeFile(`${src}/big.bin`, big);
    for (let i = 0; i < 5; i++) await Deno.writeTextFile(`${src}/sub/f${i}`, `file ${i}\n`);
    await Deno.symlink("sub/f0", `${src}/link`);
    await Deno.writeTextFile(`${src}/sub/skip.tmp`, "excluded\n");

    const b = await cairn(["backup", src, "--exclude", "*.tmp"], { env: { ...env, ...FORCED } });
    assertEquals(b.code, 0, b.stderr);
    const bf = frames(b.stderr);
    // The last frame: everything done, against the totals the counting walk found
    // (6 files, the excluded one and the symlink not among them).
    assertMatch(
      bf.at(-1)!,
      /^\[\d+:\d\d\] 100\.00% {2}6 files 24\.0 MiB, total 6 files 24\.0 MiB, /,
    );
    assert(bf.some((l, i) => i < bf.length - 1 && / total \d+ files/.test(l)), b.stderr);
    assert(b.stderr.includes(`\n  ${src}/big.bin\n`), `the file being read is shown: ${b.stderr}`);

    const plain = await cairn(["backup", src], { env });
    assertEquals(plain.code, 0, plain.stderr);
    assertEquals(frames(plain.stderr), [], "no progress off a terminal unless asked");

    const r = await cairn(["restore", "latest", "--target", `${dir}/out`, "--progress"], { env });
    assertEquals(r.code, 0, r.stderr);
    const rf = frames(r.stderr);
    assertMatch(
      rf.at(-1)!,
      / 100\.00% {2}\d+ files\/dirs 24\.0 MiB, total \d+ files\/dirs 24\.0 MiB/,
    );
    assertEquals((await Deno.stat(`${dir}/out${src}/big.bin`)).size, big.length);

    const m = await cairn(["mirror", "latest", `${dir}/mirror`, "--progress"], { env });
    assertEquals(m.code, 0, m.stderr);
    // latest is the second backup, which holds skip.tmp too.
    assertMatch(
      frames(m.stderr).at(-1)!,
      / 100\.00% {2}7 files 24\.0 MiB, total 7 files 24\.0 MiB/,
    );

    const c = await cairn(["check", "--read-data", "--progress"], { env });
    assertEquals(c.code, 0, c.stdout + c.stderr);
    const last = frames(c.stderr).at(-1)!;
    const packs = /100\.00% {2}(\d+) packs ([\d.]+ \w+), total (\d+) packs ([\d.]+ \w+),/.exec(
      last,
    );
    assert(packs, last);
    assertEquals(packs[1], packs[3]);
    assertEquals(packs[2], packs[4]);
    assert(Number(packs[1]) >= 6, `a 24 MiB file fills several 4 MiB packs: ${last}`);

    const q = await cairn(["check", "--read-data", "--quiet"], { env: { ...env, ...FORCED } });
    assertEquals(q.code, 0, q.stderr);
    assertEquals(frames(q.stderr), [], "--quiet drops forced progress lines, they are info");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("copy shows restic-like progress: snapshots against the total, bytes read, percent", async () => {
  const { dir, env } = await makeRepo();
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(src);
    await Deno.writeFile(`${src}/big.bin`, randomBytes(3 << 20));
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    await Deno.writeTextFile(`${src}/more.txt`, "more\n");
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    const dst = { ...env, CAIRN_REPO: `${dir}/dst`, CAIRN_FROM_PASSWORD: env.CAIRN_PASSWORD };
    const init = await cairn(["init", "--kdf-memory", "8", "--kdf-iterations", "1"], { env: dst });
    assertEquals(init.code, 0, init.stderr);

    const c = await cairn(["copy", "--from-repo", env.CAIRN_REPO, "--progress"], { env: dst });
    assertEquals(c.code, 0, c.stderr);
    const cf = frames(c.stderr);
    // Re-chunked (independent repositories): the source's 3 MiB are read (a file both
    // snapshots share, once).
    assertMatch(
      cf.at(-1)!,
      /^\[\d+:\d\d\] 100\.00% {2}2 snapshots (\d+\.\d+) MiB, total 2 snapshots, /,
    );
    assert(Number(/snapshots (\d+\.\d+) MiB/.exec(cf.at(-1)!)![1]) >= 3, cf.at(-1));

    // A rerun copies nothing, and says so at 100%; without --progress, no frames.
    const again = await cairn(["copy", "--from-repo", env.CAIRN_REPO, "--progress"], { env: dst });
    assertMatch(frames(again.stderr).at(-1)!, / 100\.00% {2}2 snapshots 0 B, total 2 snapshots/);
    const quiet = await cairn(["copy", "--from-repo", env.CAIRN_REPO], { env: dst });
    assertEquals(frames(quiet.stderr), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
