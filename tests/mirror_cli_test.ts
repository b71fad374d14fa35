import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, cairnCommand, lastJson, makeRepo, writeJobFile } from "./_launcher.ts";

const MARKER = ".cairn-mirror.json";

/** What "equal" means for a mirror: per relative path, type, mode, mtime and content. */
async function describeTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    const names: string[] = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    for (const name of names.sort()) {
      if (rel === "" && name === MARKER) continue;
      const path = `${dir}/${name}`;
      const r = `${rel}/${name}`;
      const st = await Deno.lstat(path);
      const mode = (st.mode! & 0o7777).toString(8);
      if (st.isSymlink) out[r] = `link ${await Deno.readLink(path)}`;
      else if (st.isDirectory) {
        await walk(path, r);
        out[r] = `dir ${mode} ${st.mtime!.getTime()}`;
      } else {
        const hash = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
        const hex = Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, "0"));
        out[r] = `file ${mode} ${st.mtime!.getTime()} ${st.size} ${hex.join("").slice(0, 16)}`;
      }
    }
  };
  await walk(root, "");
  return out;
}

/** Inode and ctime of every regular file below `root`. */
async function fileIdentities(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      const st = await Deno.lstat(path);
      if (st.isDirectory) await walk(path);
      else if (st.isFile && e.name !== MARKER) {
        out[path] = `${st.ino} ${st.ctime!.getTime()} ${st.mtime!.getTime()}`;
      }
    }
  };
  await walk(root);
  return out;
}

async function makeSource(dir: string): Promise<string> {
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/docs/old`, { recursive: true });
  await Deno.mkdir(`${src}/empty`);
  await Deno.writeTextFile(`${src}/docs/report.txt`, "report\n");
  await Deno.writeTextFile(`${src}/docs/old/draft.txt`, "draft\n");
  await Deno.writeFile(`${src}/photo.bin`, randomBytes(200_000));
  await Deno.writeTextFile(`${src}/run.sh`, "#!/bin/sh\necho hi\n");
  await Deno.chmod(`${src}/run.sh`, 0o750);
  await Deno.chmod(`${src}/docs/report.txt`, 0o600);
  await Deno.chmod(`${src}/docs/old`, 0o750);
  await Deno.symlink("docs/report.txt", `${src}/link`);
  await Deno.symlink("/nowhere/at/all", `${src}/dangling`);
  await Deno.utime(
    `${src}/docs/old/draft.txt`,
    new Date(1_600_000_000_000),
    new Date(1_600_000_000_000),
  );
  await Deno.utime(`${src}/docs/old`, new Date(1_500_000_000_000), new Date(1_500_000_000_000));
  return src;
}

interface MirrorJson {
  path: string;
  written: number;
  retimed: number;
  unchanged: number;
  linked: number;
  removed: number;
  errors: number;
}

async function backupMirror(env: Record<string, string>, args: string[]) {
  const r = await cairn(["backup", ...args, "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  return lastJson<{ mirror: MirrorJson; snapshot: string }>(r).mirror;
}

Deno.test("backup --mirror keeps the mirror equal to the source through edits, renames and deletes", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const m = `${dir}/mirror`;
  const first = await backupMirror(env, [src, "--mirror", m]);
  assertEquals(first.written, 4);
  assertEquals(await describeTree(m), await describeTree(src));
  const marker = JSON.parse(await Deno.readTextFile(`${m}/${MARKER}`));
  assertEquals([marker.complete, marker.job], [true, null]);

  // Edit (same size, new mtime), chmod, rename, delete, replace a file by a directory.
  await Deno.writeTextFile(`${src}/docs/report.txt`, "REPORT\n");
  await Deno.chmod(`${src}/run.sh`, 0o700);
  await Deno.rename(`${src}/photo.bin`, `${src}/picture.bin`);
  await Deno.remove(`${src}/docs/old`, { recursive: true });
  await Deno.remove(`${src}/link`);
  await Deno.mkdir(`${src}/link`);
  await Deno.writeTextFile(`${src}/link/new.txt`, "new\n");
  const second = await backupMirror(env, [src, "--mirror", m]);
  assertEquals(await describeTree(m), await describeTree(src));
  assertEquals(second.written, 3); // report.txt, picture.bin, link/new.txt
  assertEquals(second.removed, 3); // photo.bin, docs/old, the old link

  // Without purge, what is gone from the source stays in the mirror.
  await Deno.remove(`${src}/picture.bin`);
  await Deno.writeTextFile(`${src}/docs/report.txt`, "report, third edition\n");
  const third = await backupMirror(env, [src, "--mirror", m, "--no-purge"]);
  assertEquals([third.written, third.removed], [1, 0]);
  const want = await describeTree(src);
  const got = await describeTree(m);
  assert(got["/picture.bin"]?.startsWith("file "), "a file deleted from the source is kept");
  delete got["/picture.bin"];
  delete got["/"]; // the top directory's mtime follows the source, whose entries differ now
  assertEquals(
    Object.fromEntries(Object.entries(got).filter(([k]) => k !== "")),
    Object.fromEntries(Object.entries(want).filter(([k]) => k !== "")),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an unchanged rerun writes no mirror file: inodes and ctimes stay", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const m = `${dir}/mirror`;
  await backupMirror(env, [src, "--mirror", m]);
  const before = await fileIdentities(m);
  const tree = await describeTree(m);
  // A rewrite (temp file and rename) shows as a new inode; a chmod or utime in
  // place as a new ctime, the rerun being a new process started well after.
  const again = await backupMirror(env, [src, "--mirror", m]);
  assertEquals([again.written, again.removed, again.unchanged], [0, 0, 6]);
  assertEquals(await fileIdentities(m), before);
  assertEquals(await describeTree(m), tree);

  // New times on the same bytes (as in an upgraded source tree): metadata only, no rewrite.
  await Deno.utime(`${src}/photo.bin`, new Date(1_700_000_000_000), new Date(1_700_000_000_000));
  const retimed = await backupMirror(env, [src, "--mirror", m]);
  assertEquals([retimed.written, retimed.retimed], [0, 1]);
  assertEquals(
    String((await Deno.lstat(`${m}/photo.bin`)).ino),
    before[`${m}/photo.bin`].split(" ")[0],
  );
  assertEquals(await describeTree(m), await describeTree(src));

  // A file missing from the mirror (but not changed in the source) is copied back.
  await Deno.remove(`${m}/photo.bin`);
  const repaired = await backupMirror(env, [src, "--mirror", m]);
  assertEquals(repaired.written, 1);
  assertEquals(await describeTree(m), await describeTree(src));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a file larger than the read buffer with new times only is retimed; a changed one rewritten", async () => {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  // Above the 8 MiB read buffer: its bytes are not all in memory at the end of the read.
  const big = randomBytes(9 << 20);
  await Deno.writeFile(`${src}/big.img`, big);
  await Deno.writeFile(`${src}/big2.img`, big.slice(0, 8 << 20).reverse());
  const m = `${dir}/mirror`;
  await backupMirror(env, [src, "--mirror", m]);
  const before = await fileIdentities(m);
  const later = new Date(Date.now() + 3600_000);
  await Deno.utime(`${src}/big.img`, later, later);
  // Same size and times moved too, one byte in the middle changed.
  const changed = await Deno.readFile(`${src}/big2.img`);
  changed[4 << 20] ^= 0xff;
  await Deno.writeFile(`${src}/big2.img`, changed);
  await Deno.utime(`${src}/big2.img`, later, later);
  const s = await backupMirror(env, [src, "--mirror", m]);
  assertEquals([s.written, s.retimed], [1, 1]);
  const after = await fileIdentities(m);
  const inode = (x: Record<string, string>, f: string) => x[`${m}/${f}`].split(" ")[0];
  assertEquals(inode(after, "big.img"), inode(before, "big.img"));
  assert(inode(after, "big2.img") !== inode(before, "big2.img"));
  assertEquals(await describeTree(m), await describeTree(src));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a purge is refused in a non-empty directory that is not a cairn mirror", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const home = `${dir}/home`;
  await Deno.mkdir(home);
  await Deno.writeTextFile(`${home}/thesis.tex`, "years of work\n");
  const refusal = `Refusing to purge ${home}: it is not empty and has no ${MARKER}, ` +
    "so it is not a cairn mirror";
  const r = await cairn(["backup", src, "--mirror", home], { env });
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, `cairn backup: ${refusal}`);
  assertEquals(r.stderr.trim().split("\n").length, 1, "one line");
  assertEquals(await Deno.readTextFile(`${home}/thesis.tex`), "years of work\n");
  const snaps = await cairn(["snapshots", "--json"], { env });
  assertEquals(lastJson<unknown[]>(snaps).length, 0, "nothing was done");

  await cairn(["backup", src], { env });
  const m2 = await cairn(["mirror", "latest", home, "--purge"], { env });
  assertEquals(m2.code, 1);
  assertStringIncludes(m2.stderr, `cairn mirror: ${refusal}`);
  assertEquals(await Array.fromAsync(Deno.readDir(home)).then((e) => e.map((x) => x.name)), [
    "thesis.tex",
  ]);

  // Without purge cairn copies in but never claims the directory, so a later purge is still refused.
  const copy = await backupMirror(env, [src, "--mirror", home, "--no-purge"]);
  assertEquals(copy.written, 4);
  assertEquals(await Deno.readTextFile(`${home}/thesis.tex`), "years of work\n");
  await assertNoFile(`${home}/${MARKER}`);
  const later = await cairn(["backup", src, "--mirror", home], { env });
  assertEquals(later.code, 1);
  assertStringIncludes(later.stderr, refusal);
  assertEquals(await Deno.readTextFile(`${home}/thesis.tex`), "years of work\n");

  // A mirror inside a source is refused too.
  const inside = await cairn(["backup", src, "--mirror", `${src}/mirror`], { env });
  assertEquals(inside.code, 1);
  assertStringIncludes(inside.stderr, "must not be inside a source");
  await Deno.remove(dir, { recursive: true });
});

async function assertNoFile(path: string) {
  try {
    await Deno.lstat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  throw new Error(`${path} should not exist`);
}

Deno.test("cairn mirror SNAPSHOT DIR rebuilds a lost mirror, then skips what matches", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const m = `${dir}/mirror`;
  await backupMirror(env, [src, "--mirror", m]);
  await Deno.remove(m, { recursive: true });
  const r = await cairn(["mirror", "latest", m, "--purge", "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(lastJson<MirrorJson>(r).written, 4);
  assertEquals(await describeTree(m), await describeTree(src));
  const before = await fileIdentities(m);
  await Deno.writeTextFile(`${m}/stray.txt`, "not in the snapshot");
  const again = await cairn(["mirror", "latest", m, "--purge", "--json"], { env });
  assertEquals(again.code, 0, again.stderr);
  const s = lastJson<MirrorJson>(again);
  assertEquals([s.written, s.removed], [0, 1]);
  assertEquals(await fileIdentities(m), before);
  assertEquals(await describeTree(m), await describeTree(src));
  await Deno.remove(dir, { recursive: true });
});

const LOCK = ".cairn-mirror.lock";

Deno.test("cairn mirror only retimes files whose bytes are those it holds, under new mtimes", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const m = `${dir}/mirror`;
  // Snapshot 1, mirrored from the repository (not by the backup).
  await backupMirror(env, [src, "--mirror", `${dir}/unused`]);
  const first = await cairn(["mirror", "latest", m, "--purge", "--json"], { env });
  assertEquals(first.code, 0, first.stderr);
  // The tree unpacked again: every mtime new, one file's bytes changed at the same size.
  const later = new Date(Date.now() + 3600_000);
  for (const f of ["docs/report.txt", "docs/old/draft.txt", "photo.bin", "run.sh"]) {
    await Deno.utime(`${src}/${f}`, later, later);
  }
  await Deno.writeTextFile(`${src}/run.sh`, "#!/bin/sh\necho HI\n");
  await Deno.utime(`${src}/run.sh`, later, later);
  const r = await cairn(["backup", src, "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  const before = await fileIdentities(m);
  const again = await cairn(["mirror", "latest", m, "--purge", "--json"], { env });
  assertEquals(again.code, 0, again.stderr);
  const s = lastJson<MirrorJson & { retimed: number }>(again);
  assertEquals([s.written, s.retimed], [1, 3]);
  assertEquals(await describeTree(m), await describeTree(src));
  // The retimed files kept their inodes; the changed one is a new file.
  const after = await fileIdentities(m);
  const inode = (x: Record<string, string>, f: string) => x[`${m}/${f}`].split(" ")[0];
  assertEquals(inode(after, "photo.bin"), inode(before, "photo.bin"));
  assert(inode(after, "run.sh") !== inode(before, "run.sh"));
  await Deno.remove(dir, { recursive: true });
});

/** A job file with one job "docs" backing up `src`, its mirror table given as TOML. */
async function jobFile(dir: string, env: Record<string, string>, src: string, mirror: string) {
  return await writeJobFile(dir, env, [
    "[[job]]",
    `name = "docs"`,
    `paths = ["${src}"]`,
    `mirror = ${mirror}`,
  ]);
}

async function snapshotCount(env: Record<string, string>): Promise<number> {
  return lastJson<unknown[]>(await cairn(["snapshots", "--json"], { env })).length;
}

Deno.test("a mirror whose lock a live run holds is refused; once the holder ends, it is written", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const m = `${dir}/mirror`;
  await backupMirror(env, [src, "--mirror", m]);
  const lock = `${await Deno.realPath(m)}/${LOCK}`;
  const holder = new Deno.Command("sleep", { args: ["60"], stdout: "null" }).spawn();
  const held = JSON.stringify({
    host: Deno.hostname(),
    pid: holder.pid,
    time: "2024-03-01T12:00Z",
  });
  await Deno.writeTextFile(lock, held);
  try {
    await Deno.writeTextFile(`${src}/new.txt`, "new\n");
    for (const args of [["backup", src, "--mirror", m], ["mirror", "latest", m, "--purge"]]) {
      const r = await cairn(args, { env });
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(
        r.stderr,
        `Refusing to mirror into ${m}: another cairn run is writing it`,
      );
      assertStringIncludes(
        r.stderr,
        `lock ${lock} held by host ${Deno.hostname()}, pid ${holder.pid}`,
      );
      assertEquals(r.stderr.trim().split("\n").length, 1, "one line");
    }
    assertEquals(await snapshotCount(env), 1, "a refused backup takes no snapshot");
    await assertNoFile(`${m}/new.txt`);
    assertEquals(await Deno.readTextFile(lock), held, "the holder's lock is untouched");

    // In a job the snapshot is taken anyway, and the run is partial.
    const config = await jobFile(dir, env, src, `{ path = "${m}", purge = true }`);
    const job = await cairn(["run", "--config", config], { env });
    assertEquals(job.code, 3, job.stderr);
    assertStringIncludes(job.stderr, "mirror skipped: Refusing to mirror into");
    assertStringIncludes(job.stdout, "partial");
    assertEquals(await snapshotCount(env), 2);
    await assertNoFile(`${m}/new.txt`);
  } finally {
    holder.kill("SIGKILL");
    await holder.status;
  }
  // The holder is gone: its lock is stale, and replaced.
  const r = await cairn(["backup", src, "--mirror", m, "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stderr, `replaced the stale mirror lock ${lock}`);
  assertStringIncludes(r.stderr, `process ${holder.pid} is not running`);
  assertEquals(await describeTree(m), await describeTree(src));
  await assertNoFile(lock);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("--mirror-require-mount refuses a mirror whose disk is not mounted", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const usb = `${dir}/usb`; // a directory on the same filesystem: not a mount point
  await Deno.mkdir(usb);
  const refusal = `Refusing to mirror into ${usb}/www: ${usb} is not a mount point ` +
    "(is the disk mounted?)";
  const r = await cairn(["backup", src, "--mirror", `${usb}/www`, "--mirror-require-mount", usb], {
    env,
  });
  assertEquals(r.code, 1, r.stderr);
  assertEquals(r.stderr.trim(), `cairn backup: ${refusal}`);
  assertEquals(await snapshotCount(env), 0, "a refused backup takes no snapshot");
  assertEquals(await Array.fromAsync(Deno.readDir(usb)), [], "nothing was written");
  const usage = await cairn(["backup", src, "--mirror-require-mount", usb], { env });
  assertEquals(usage.code, 2);

  // In a job the snapshot is taken anyway, and the run is partial.
  const config = await jobFile(
    dir,
    env,
    src,
    `{ path = "${usb}/{job}/{date}", require_mount = "${usb}" }`,
  );
  const job = await cairn(["run", "--config", config], { env });
  assertEquals(job.code, 3, job.stderr);
  assertStringIncludes(
    job.stderr,
    `mirror skipped: Refusing to mirror into ${usb}/docs: ${usb} is`,
  );
  assertEquals(await snapshotCount(env), 1);
  assertEquals(await Array.fromAsync(Deno.readDir(usb)), []);

  const m = await cairn(["mirror", "latest", `${usb}/www`, "--require-mount", usb], { env });
  assertEquals(m.code, 1);
  assertEquals(m.stderr.trim(), `cairn mirror: ${refusal}`);
  // `/` is always a mount point.
  const ok = await cairn(["mirror", "latest", `${dir}/m`, "--require-mount", "/"], { env });
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(await describeTree(`${dir}/m`), await describeTree(src));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("versioned mirrors: a folder per run, unchanged files hard-linked to the previous one", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const template = `${dir}/usb/{date}`;
  const day = (d: number) => `2024-03-0${d}T12:00:00`;
  await backupMirror(env, [src, "--mirror", template, "--time", day(1)]);
  await Deno.writeTextFile(`${src}/docs/report.txt`, "changed on day 2\n");
  const second = await backupMirror(env, [src, "--mirror", template, "--time", day(2)]);
  assertEquals([second.written, second.linked], [1, 3]);
  const [d1, d2] = [`${dir}/usb/2024-03-01`, `${dir}/usb/2024-03-02`];
  assertEquals(await describeTree(d2), await describeTree(src));
  const ino = async (p: string) => (await Deno.lstat(p)).ino;
  assertEquals(await ino(`${d1}/photo.bin`), await ino(`${d2}/photo.bin`));
  assertEquals(await ino(`${d1}/docs/old/draft.txt`), await ino(`${d2}/docs/old/draft.txt`));
  assert((await ino(`${d1}/docs/report.txt`)) !== (await ino(`${d2}/docs/report.txt`)));
  assertEquals(await Deno.readTextFile(`${d1}/docs/report.txt`), "report\n");
  assertEquals((await Deno.lstat(`${d2}/photo.bin`)).nlink, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a job's mirror with {snapshot} and keep: one folder per snapshot, the newest kept", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  const config = await jobFile(
    dir,
    env,
    src,
    `{ path = "${dir}/usb/{job}/{snapshot}", purge = true, keep = { last = 2 } }`,
  );
  for (let i = 0; i < 3; i++) {
    await Deno.writeTextFile(`${src}/run-${i}.txt`, `run ${i}\n`);
    const r = await cairn(["run", "--config", config, "docs"], { env });
    assertEquals(r.code, 0, r.stderr);
  }
  const snaps = lastJson<{ id: string }[]>(await cairn(["snapshots", "--json"], { env }));
  assertEquals(snaps.length, 3);
  const folders: string[] = [];
  for await (const e of Deno.readDir(`${dir}/usb/docs`)) folders.push(e.name);
  assertEquals(folders.sort(), snaps.slice(1).map((s) => s.id.slice(0, 8)).sort());
  const newest = `${dir}/usb/docs/${snaps[2].id.slice(0, 8)}`;
  assertEquals(await describeTree(newest), await describeTree(src));
  const marker = JSON.parse(await Deno.readTextFile(`${newest}/${MARKER}`));
  assertEquals([marker.job, marker.snapshot, marker.complete], ["docs", snaps[2].id, true]);
  await Deno.remove(dir, { recursive: true });
});

/** The hook in src/mirror/file_writer.ts: die once this mirror file's first bytes are written. */
const KILL_AFTER = "CAIRN_TEST_KILL_AFTER_MIRROR_FILE";

/** Runs a backup that kills itself in the middle of writing mirror file `name`. */
async function killedBackup(env: Record<string, string>, args: string[], name: string) {
  const out = await cairnCommand(["backup", ...args], { env: { ...env, [KILL_AFTER]: name } })
    .output();
  assertEquals(out.signal, "SIGKILL", new TextDecoder().decode(out.stderr));
}

Deno.test("a backup killed in the middle of a file leaves the mirror's old copy whole", async () => {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  for (const n of ["a.txt", "b.txt", "c.txt"]) await Deno.writeTextFile(`${src}/${n}`, `${n}\n`);
  // Above the 8 MiB read buffer, so it is written in more than one piece.
  const old = randomBytes(9 << 20);
  await Deno.writeFile(`${src}/big.img`, old);
  const m = `${dir}/mirror`;
  await backupMirror(env, [src, "--mirror", m]);

  // New bytes at the same size; the run dies with part of them written.
  const changed = old.slice().reverse();
  await Deno.writeFile(`${src}/big.img`, changed);
  await killedBackup(env, [src, "--mirror", m, "--workers", "1"], "big.img");
  assertEquals(await Deno.readFile(`${m}/big.img`), old, "the mirror still shows the old bytes");
  const parts = (await Array.fromAsync(Deno.readDir(m))).filter((e) =>
    e.name.startsWith(".cairn-part.")
  );
  assertEquals(parts.length, 1, "the new bytes went to one temp file");
  const part = await Deno.lstat(`${m}/${parts[0].name}`);
  assert(part.size > 0 && part.size < changed.length, `temp file of ${part.size} bytes`);
  for (const n of ["a.txt", "b.txt", "c.txt"]) {
    assertEquals(await Deno.readTextFile(`${m}/${n}`), `${n}\n`);
  }

  // The killed run's lock is left; the rerun finds its pid gone, replaces it, completes the
  // mirror and removes the killed run's temp file.
  const lock = JSON.parse(await Deno.readTextFile(`${m}/${LOCK}`));
  const rerun = await cairn(["backup", src, "--mirror", m], { env });
  assertEquals(rerun.code, 0, rerun.stderr);
  assertStringIncludes(rerun.stderr, `process ${lock.pid} is not running`);
  assertEquals(await describeTree(m), await describeTree(src));
  assertEquals(await Deno.readFile(`${m}/big.img`), changed);
  await assertNoFile(`${m}/${parts[0].name}`);
  await assertNoFile(`${m}/${LOCK}`);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a backup killed while it mirrors a new directory shows none of that directory", async () => {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  await Deno.writeTextFile(`${src}/top.txt`, "top\n");
  const m = `${dir}/mirror`;
  await backupMirror(env, [src, "--mirror", m]);
  await Deno.mkdir(`${src}/sub/deeper`, { recursive: true });
  for (let i = 0; i < 10; i++) {
    const at = i % 2 ? "sub" : "sub/deeper";
    await Deno.writeFile(`${src}/${at}/f${String(i).padStart(3, "0")}`, randomBytes(1000 + i));
  }
  await killedBackup(env, [src, "--mirror", m, "--workers", "1"], "f005");
  // Nothing of `sub` is in the mirror under a real name: it appears whole or not at all.
  assertEquals(await realFiles(m, false), [`${m}/top.txt`], "the new directory stays hidden");
  const hidden = await realFiles(m, true);
  // `sub` is built under a temp name; the file being written when the run died is in it.
  assert(hidden.some((p) => /\/\.cairn-part\.[^/]+\/f005$/.test(p)), `no f005 in ${hidden}`);
  // The rerun completes the mirror and removes the killed run's temp directory.
  await backupMirror(env, [src, "--mirror", m]);
  assertEquals(await describeTree(m), await describeTree(src));
  assertEquals(await realFiles(m, true), []);
  await Deno.remove(dir, { recursive: true });
});

/**
 * Regular files below `root`: those under real names, or (`hidden`) those
 * inside cairn's temp directories.
 */
async function realFiles(root: string, hidden: boolean): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, inTemp: boolean) => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(d));
    } catch {
      return; // not created yet, or renamed away meanwhile
    }
    for (const e of entries) {
      const temp = inTemp || e.name.startsWith(".cairn-part.");
      if (e.isDirectory) await walk(`${d}/${e.name}`, temp);
      else if (e.isFile && temp === hidden && e.name !== MARKER && e.name !== LOCK) {
        out.push(`${d}/${e.name}`);
      }
    }
  };
  await walk(root, false);
  return out;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

/** Runs cairn, killed after a bound so that a run that hangs fails the test instead of stalling it. */
async function cairnBounded(args: string[], env: Record<string, string>) {
  const child = cairnCommand(args, { env }).spawn();
  const bound = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const out = await child.output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    clearTimeout(bound);
  }
}

Deno.test("a FIFO planted as the mirror's lock or marker is refused, naming it, without hanging", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  assertEquals((await cairn(["backup", src], { env })).code, 0, "a snapshot to mirror");
  for (const name of [LOCK, MARKER]) {
    const m = `${dir}/mirror-${name}`;
    await Deno.mkdir(m);
    const fifo = `${await Deno.realPath(m)}/${name}`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert(made.success);
    for (const args of [["backup", src, "--mirror", m], ["mirror", "latest", m, "--purge"]]) {
      const r = await cairnBounded(args, env);
      assertEquals(r.code, 1, r.stderr);
      const what = name === LOCK ? `its lock ${fifo}` : `its ${MARKER}`;
      assertStringIncludes(r.stderr, `Refusing to mirror into ${m}: ${what} is not a regular file`);
      assertEquals(r.stderr.trim().split("\n").length, 1, "one line");
      assert(Deno.lstatSync(fifo).isFifo, "the FIFO is left alone");
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a mirror inside a source is refused when its path reaches the source through a link", async () => {
  const { dir, env } = await makeRepo();
  const src = await makeSource(dir);
  await Deno.symlink(src, `${dir}/alias`);
  for (const m of [`${dir}/alias/mirror`, `${dir}/alias/docs/new/mirror`, `${dir}/alias`]) {
    const r = await cairnBounded(["backup", src, "--mirror", m], env);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, `a mirror must not be inside a source or hold one`);
    assertEquals(r.stderr.trim().split("\n").length, 1, "one line");
  }
  await assertNoFile(`${src}/docs/new`);
  assertEquals(await snapshotCount(env), 0, "a refused backup takes no snapshot");
  await Deno.remove(dir, { recursive: true });
});
