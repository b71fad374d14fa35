import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, UNPRIVILEGED } from "./_launcher.ts";

interface Summary {
  snapshot: string;
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  dirs: number;
  bytes_read: number;
  bytes_added: number;
  data_blobs: number;
  tree_blobs: number;
  duration_s: number;
  complete: boolean;
}

async function sourceTree(): Promise<string> {
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  await Deno.mkdir(`${src}/sub/deeper`, { recursive: true });
  await Deno.writeTextFile(`${src}/a.txt`, "alpha\n");
  await Deno.writeTextFile(`${src}/sub/b.txt`, "bravo\n".repeat(1000));
  await Deno.writeFile(`${src}/sub/deeper/big.bin`, crypto.getRandomValues(new Uint8Array(60000)));
  await Deno.writeTextFile(`${src}/skip.swp`, "editor swap");
  return src;
}

Deno.test("backup --json reports new, changed and unmodified files across runs", async () => {
  const { env } = await makeRepo();
  const src = await sourceTree();
  const first = await cairn(["backup", src, "--json"], { env });
  assertEquals(first.code, 0, first.stderr);
  const s1 = lastJson<Summary>(first);
  assertEquals([s1.files_new, s1.files_changed, s1.files_unmodified], [4, 0, 0]);
  assertEquals(s1.bytes_read, 6 + 6000 + 60000 + 11);
  assert(s1.bytes_added > 60000, "random data does not compress, so the repo grows by it");
  assert(s1.dirs >= 3);
  assertMatch(s1.snapshot, /^[0-9a-f]{64}$/);

  const second = lastJson<Summary>(await cairn(["backup", src, "--json"], { env }));
  assertEquals([second.files_new, second.files_changed, second.files_unmodified], [0, 0, 4]);
  assertEquals(second.bytes_read, 0, "unchanged files are not read again");
  assertEquals(second.data_blobs, 0, "nothing is stored again");
  // Only trees of ancestors outside the source (such as /tmp, which other
  // tests touch) may change; the source's own trees are the same blobs.
  assert(second.tree_blobs <= src.split("/").length, `${second.tree_blobs} new trees`);

  await Deno.writeTextFile(`${src}/a.txt`, "alpha, edited\n");
  const third = lastJson<Summary>(await cairn(["backup", src, "--json"], { env }));
  assertEquals([third.files_new, third.files_changed, third.files_unmodified], [0, 1, 3]);
  assertEquals(third.bytes_read, 14);
  assertEquals(third.data_blobs, 1);
});

Deno.test("backup records tags, host, time and excludes; snapshots --json lists them", async () => {
  const { env } = await makeRepo();
  const src = await sourceTree();
  const r = await cairn([
    "backup",
    src,
    "--tag",
    "daily",
    "--tag",
    "etc",
    "--host",
    "web-1",
    "--time",
    "2024-03-01T02:00:00Z",
    "--exclude",
    "*.swp",
    "--json",
  ], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(lastJson<Summary>(r).files_new, 3, "the .swp file is excluded");
  const list = await cairn(["snapshots", "--json"], { env });
  const snaps = JSON.parse(list.stdout);
  assertEquals(snaps.length, 1);
  assertEquals(snaps[0].host, "web-1");
  assertEquals(snaps[0].tags, ["daily", "etc"]);
  assertEquals(snaps[0].time, "2024-03-01T02:00:00.000Z");
  assertEquals(snaps[0].paths, [src]);
  assertEquals(snaps[0].id, lastJson<Summary>(r).snapshot);
  const filtered = JSON.parse(
    (await cairn(["snapshots", "--json", "--host", "other"], { env })).stdout,
  );
  assertEquals(filtered, []);
});

Deno.test("backup saves a name that is not valid UTF-8 with the rest", async () => {
  const { env } = await makeRepo();
  const src = await sourceTree();
  // Deno cannot create such a name; the shell can.
  const mk = await new Deno.Command("sh", { args: ["-c", `touch "${src}/bad-$(printf '\\377')"`] })
    .output();
  assertEquals(mk.code, 0);
  const r = await cairn(["backup", src, "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(lastJson<Summary>(r).complete, true);
  assertEquals(lastJson<Summary>(r).files_new, 5, "the name is saved with every other file");
  const snaps = JSON.parse((await cairn(["snapshots", "--json"], { env })).stdout);
  assertEquals(snaps[0].incomplete, false);
});

Deno.test({
  name: "backup of an unreadable file saves the rest and exits 3",
  // Root reads files regardless of their mode, so as root cairn runs in a user
  // namespace as uid 1000; only a root without user namespaces skips this.
  ignore: UNPRIVILEGED === undefined,
  async fn() {
    const { env } = await makeRepo();
    const src = await sourceTree();
    await Deno.chmod(`${src}/a.txt`, 0o000);
    const r = await cairn(["backup", src, "--json"], { env, wrap: UNPRIVILEGED });
    assertEquals(r.code, 3, r.stderr);
    assertStringIncludes(r.stderr, "a.txt");
    assertEquals(lastJson<Summary>(r).complete, false);
    const ls = await cairn(["ls", "latest", src], { env });
    assert(!ls.stdout.includes(`${src}/a.txt\n`), "the unreadable file is not in the snapshot");
    assertStringIncludes(ls.stdout, `${src}/sub/b.txt\n`);
  },
});

Deno.test("init refuses to overwrite an existing repository", async () => {
  const { env } = await makeRepo();
  const r = await cairn(["init"], { env });
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, "already exists");
});

Deno.test("a wrong password is a one-line error with exit 1", async () => {
  const { env } = await makeRepo();
  const r = await cairn(["snapshots"], { env: { ...env, CAIRN_PASSWORD: "wrong" } });
  assertEquals(r.code, 1);
  assertEquals(r.stderr.trim().split("\n").length, 1);
  assertMatch(r.stderr, /wrong password/i);
});

Deno.test("the password can come from a file named by --password-file or CAIRN_PASSWORD_FILE", async () => {
  const { dir, env } = await makeRepo();
  await Deno.writeTextFile(`${dir}/pw`, `${env.CAIRN_PASSWORD}\n`);
  const base = { CAIRN_REPO: env.CAIRN_REPO };
  assertEquals((await cairn(["snapshots", "--password-file", `${dir}/pw`], { env: base })).code, 0);
  assertEquals(
    (await cairn(["snapshots"], { env: { ...base, CAIRN_PASSWORD_FILE: `${dir}/pw` } })).code,
    0,
  );
  const none = await cairn(["snapshots"], { env: base });
  assertEquals(none.code, 2);
  assertStringIncludes(none.stderr, "No password given");
});

Deno.test("a missing repository is named in a one-line error", async () => {
  const dir = await Deno.makeTempDir();
  const r = await cairn(["snapshots"], { env: { CAIRN_REPO: `${dir}/nope`, CAIRN_PASSWORD: "x" } });
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, `${dir}/nope`);
  assertStringIncludes(r.stderr, "config");
});

Deno.test("a damaged config file is named in a one-line error", async () => {
  const { env } = await makeRepo();
  const config = `${env.CAIRN_REPO}/config`;
  await Deno.chmod(config, 0o600);
  const bytes = await Deno.readFile(config);
  bytes[bytes.length - 3] ^= 0xff;
  await Deno.writeFile(config, bytes);
  const r = await cairn(["snapshots"], { env });
  assertEquals(r.code, 1);
  assertEquals(r.stderr.trim().split("\n").length, 1);
  assertStringIncludes(r.stderr, "config");
  assertStringIncludes(r.stderr, "damaged");
});

Deno.test("a damaged snapshot file is named in a warning and the others are listed", async () => {
  const { env } = await makeRepo();
  const src = await sourceTree();
  const id = lastJson<Summary>(await cairn(["backup", src, "--json"], { env })).snapshot;
  const file = `${env.CAIRN_REPO}/snapshots/${id}`;
  await Deno.chmod(file, 0o600);
  await Deno.writeTextFile(file, "garbage");
  const r = await cairn(["snapshots"], { env });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stderr, `warning: skipping snapshot file snapshots/${id}`);
  assertStringIncludes(r.stdout, "0 snapshots");
});

Deno.test("usage errors exit 2 with a one-line message", async () => {
  const { env } = await makeRepo();
  for (
    const [args, text] of [
      [["backup"], "expected"],
      [["backup", ".", "--time", "yesterday"], "--time"],
      [["backup", ".", "--no-such-flag"], "no-such-flag"],
      [["backup", "/definitely/not/here"], "/definitely/not/here"],
      [["frobnicate"], "unknown command"],
    ] as const
  ) {
    const r = await cairn([...args], { env });
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, text);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

Deno.test("--help lists the commands and each command's options", async () => {
  const top = await cairn(["--help"]);
  assertEquals(top.code, 0);
  for (const c of ["init", "backup", "snapshots"]) assertStringIncludes(top.stdout, c);
  const b = await cairn(["backup", "--help"]);
  assertEquals(b.code, 0);
  assertStringIncludes(b.stdout, "--exclude");
  assertStringIncludes(b.stdout, "--password-file");
});

Deno.test("a source reached through a symlinked directory restores under the path as given", async () => {
  const { env } = await makeRepo();
  const base = await Deno.makeTempDir({ prefix: "cairn-alias-" });
  await Deno.mkdir(`${base}/real/sub`, { recursive: true });
  await Deno.writeTextFile(`${base}/real/sub/f.txt`, "through the link\n");
  await Deno.writeTextFile(`${base}/other.txt`, "beside it\n");
  await Deno.symlink("real", `${base}/alias`); // as /lib -> usr/lib on a merged-/usr system
  const mirror = `${base}/mirror`;
  const sources = [`${base}/alias/sub`, `${base}/other.txt`];
  for (const round of [1, 2]) { // the second run compares with the first as its parent
    const r = await cairn(["backup", ...sources, "--mirror", mirror, "--json"], { env });
    assertEquals(r.code, 0, `round ${round}: ${r.stderr}`);
  }
  const check = await cairn(["check", "--read-data"], { env });
  assertEquals(check.code, 0, check.stdout + check.stderr);
  const ls = await cairn(["ls", "latest"], { env });
  assertEquals(ls.code, 0, ls.stderr);
  assertStringIncludes(ls.stdout, `${base}/alias/sub/f.txt`);
  const dump = await cairn(["dump", "latest", `${base}/alias/sub/f.txt`], { env });
  assertEquals([dump.code, dump.stdout], [0, "through the link\n"]);
  const target = `${base}/out`;
  const restored = await cairn(["restore", "latest", "--target", target], { env });
  assertEquals(restored.code, 0, restored.stderr);
  assert(
    Deno.lstatSync(`${target}${base}/alias`).isDirectory,
    "the alias is stored as a directory",
  );
  assertEquals(Deno.readTextFileSync(`${target}${base}/alias/sub/f.txt`), "through the link\n");
  assertEquals(Deno.readTextFileSync(`${target}${base}/other.txt`), "beside it\n");
  // The mirror's top stands for `base`, the deepest directory holding both sources.
  assertEquals(Deno.readTextFileSync(`${mirror}/alias/sub/f.txt`), "through the link\n");
  assert(Deno.lstatSync(`${mirror}/alias`).isDirectory);
});

Deno.test("a source below a source that is a symlink is reported, not dropped in silence", async () => {
  const { env } = await makeRepo();
  const base = await Deno.makeTempDir({ prefix: "cairn-alias-" });
  await Deno.mkdir(`${base}/real/sub`, { recursive: true });
  await Deno.writeTextFile(`${base}/real/sub/f.txt`, "x");
  await Deno.symlink("real", `${base}/alias`);
  const r = await cairn(["backup", `${base}/alias`, `${base}/alias/sub`], { env });
  assertEquals(r.code, 3, r.stderr);
  assertStringIncludes(r.stderr, `${base}/alias/sub: not saved: it lies below ${base}/alias`);
  const ls = await cairn(["ls", "latest", "-l"], { env });
  assertEquals(ls.code, 0, ls.stderr);
  assertMatch(ls.stdout, /alias -> real/);
});
