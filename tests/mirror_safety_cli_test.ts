/**
 * What the mirror promises about places it must not touch: it never writes
 * outside its root or through a link planted in it, refuses a folder that
 * is another job's mirror, and exits 3 naming an entry it cannot mirror.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, UNPRIVILEGED, writeJobFile } from "./_launcher.ts";

const MARKER = ".cairn-mirror.json";

/** Every entry below `root` (path → kind and content), the marker left out. */
async function snapshotOf(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    for (
      const e of (await Array.fromAsync(Deno.readDir(dir))).sort((a, b) => a.name < b.name ? -1 : 1)
    ) {
      if (rel === "" && e.name === MARKER) continue;
      const path = `${dir}/${e.name}`;
      const st = await Deno.lstat(path);
      if (st.isSymlink) out[`${rel}/${e.name}`] = `link ${await Deno.readLink(path)}`;
      else if (st.isDirectory) {
        out[`${rel}/${e.name}`] = "dir";
        await walk(path, `${rel}/${e.name}`);
      } else out[`${rel}/${e.name}`] = `file ${await Deno.readTextFile(path)}`;
    }
  };
  await walk(root, "");
  return out;
}

async function source(dir: string): Promise<string> {
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/docs`, { recursive: true });
  await Deno.writeTextFile(`${src}/docs/report.txt`, "report\n");
  await Deno.writeTextFile(`${src}/run.sh`, "echo hi\n");
  await Deno.symlink("/etc/passwd", `${src}/abs-link`);
  return src;
}

Deno.test("a mirror replaces links planted in it and never writes through them", async () => {
  const { dir, env } = await makeRepo();
  const src = await source(dir);
  const m = `${dir}/mirror`;
  const outside = `${dir}/outside`;
  for (const cmd of ["backup", "mirror"] as const) {
    await Deno.remove(outside, { recursive: true }).catch(() => {});
    await Deno.mkdir(outside);
    await Deno.writeTextFile(`${outside}/report.txt`, "outside\n");
    await Deno.writeTextFile(`${outside}/victim`, "victim\n");
    const first = await cairn(["backup", src, "--mirror", m], { env });
    assertEquals(first.code, 0, first.stderr);
    // Someone with write access to the mirror plants links where cairn will write.
    await Deno.remove(`${m}/docs`, { recursive: true });
    await Deno.symlink(outside, `${m}/docs`);
    await Deno.remove(`${m}/run.sh`);
    await Deno.symlink(`${outside}/victim`, `${m}/run.sh`);
    await Deno.writeTextFile(`${src}/docs/report.txt`, `report for ${cmd}\n`);
    await Deno.writeTextFile(`${src}/run.sh`, `echo ${cmd}\n`);
    const r = cmd === "backup"
      ? await cairn(["backup", src, "--mirror", m], { env })
      : (await cairn(["backup", src], { env }),
        await cairn(["mirror", "latest", m, "--purge"], { env }));
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      await snapshotOf(outside),
      { "/report.txt": "file outside\n", "/victim": "file victim\n" },
      `${cmd} wrote through a link`,
    );
    assertEquals(
      await snapshotOf(m),
      await snapshotOf(src),
      `${cmd} left the mirror unlike the source`,
    );
    assert(!(await Deno.lstat(`${m}/docs`)).isSymlink);
    // A link from the source is mirrored as a link, not followed.
    assertEquals(await Deno.readLink(`${m}/abs-link`), "/etc/passwd");
  }
  await Deno.remove(dir, { recursive: true });
});

/** A job file with jobs "docs" and "other", each backing up `src` into `mirror`. */
function twoJobs(dir: string, env: Record<string, string>, src: string, mirror: string) {
  const job = (name: string) => [
    "[[job]]",
    `name = "${name}"`,
    `paths = ["${src}"]`,
    `mirror = { path = "${mirror}", purge = true }`,
  ];
  return writeJobFile(dir, env, [...job("other"), ...job("docs")]);
}

Deno.test("a job refuses a mirror folder whose marker names another job", async () => {
  const { dir, env } = await makeRepo();
  const src = await source(dir);
  const m = `${dir}/mirror`;
  const config = await twoJobs(dir, env, src, m);
  const other = await cairn(["run", "--config", config, "other"], { env });
  assertEquals(other.code, 0, other.stderr);
  assertEquals(JSON.parse(await Deno.readTextFile(`${m}/${MARKER}`)).job, "other");
  const before = await snapshotOf(m);

  await Deno.writeTextFile(`${src}/docs/report.txt`, "changed for docs\n");
  const docs = await cairn(["run", "--config", config, "docs"], { env });
  assertEquals(docs.code, 3, docs.stderr);
  assertStringIncludes(
    docs.stderr,
    `Refusing to mirror into ${m}: it is the mirror of job "other", not "docs"`,
  );
  assertEquals(await snapshotOf(m), before, "the other job's mirror is untouched");
  assertEquals(JSON.parse(await Deno.readTextFile(`${m}/${MARKER}`)).job, "other");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("an entry the mirror cannot write is named, the rest is mirrored, and the exit is 3", async () => {
  const { dir, env } = await makeRepo();
  const src = await source(dir);
  const m = `${dir}/mirror`;
  assertEquals((await cairn(["backup", src, "--mirror", m], { env })).code, 0);
  // Without purge, a directory someone made where the source has a file stays.
  await Deno.remove(`${m}/run.sh`);
  await Deno.mkdir(`${m}/run.sh/keep`, { recursive: true });
  await Deno.writeTextFile(`${m}/run.sh/keep/mine`, "mine\n");
  await Deno.writeTextFile(`${src}/run.sh`, "echo changed\n");
  await Deno.writeTextFile(`${src}/docs/report.txt`, "report, second\n");
  const r = await cairn(["backup", src, "--mirror", m, "--no-purge", "--json"], { env });
  assertEquals(r.code, 3, r.stderr);
  assertStringIncludes(r.stderr, `${m}/run.sh: not mirrored: a directory is in the way`);
  assertEquals(lastJson<{ mirror: { errors: number } }>(r).mirror.errors, 1);
  assertEquals(await Deno.readTextFile(`${m}/run.sh/keep/mine`), "mine\n");
  assertEquals(await Deno.readTextFile(`${m}/docs/report.txt`), "report, second\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "cairn mirror exits 3 naming entries in a folder it may not write",
  // Needs a directory of another owner: root makes one and runs cairn as uid
  // 1000 in a user namespace, where it is nobody's.
  ignore: Deno.uid() !== 0 || UNPRIVILEGED === undefined,
  async fn() {
    const { dir, env } = await makeRepo();
    const src = await source(dir);
    const m = `${dir}/mirror`;
    assertEquals((await cairn(["backup", src, "--mirror", m], { env })).code, 0);
    await Deno.writeTextFile(`${src}/docs/report.txt`, "report, second\n");
    await Deno.writeTextFile(`${src}/run.sh`, "echo second\n");
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    await Deno.chown(`${m}/docs`, 65534, 65534);
    const r = await cairn(["mirror", "latest", m, "--purge", "--json"], {
      env,
      wrap: UNPRIVILEGED,
    });
    assertEquals(r.code, 3, r.stderr);
    assertStringIncludes(r.stderr, `${m}/docs/report.txt: not mirrored: Permission denied`);
    assertEquals(await Deno.readTextFile(`${m}/docs/report.txt`), "report\n");
    assertEquals(await Deno.readTextFile(`${m}/run.sh`), "echo second\n", "the rest is mirrored");
    await Deno.remove(dir, { recursive: true });
  },
});
