/**
 * File fidelity end to end: extended attributes (user, security, POSIX
 * ACLs, a file capability), sparse files and symlink times through backup,
 * restore and both mirror paths, compared with `rsync -aHAXc --dry-run`.
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { readXattrs, supported } from "../src/platform/mod.ts";
import { cairn, makeRepo, UNPRIVILEGED } from "./_launcher.ts";

function has(tool: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

function run(cmd: string, ...args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

const TOOLS = ["setfattr", "setfacl", "setcap", "rsync", "getfacl"].every(has);
const MIB = 1024 * 1024;

/**
 * rsync's list of what differs between two trees (owner, mode, times, ACLs,
 * xattrs, links; with `checksum`, contents too).
 */
function differences(from: string, to: string, checksum = false): string[] {
  const flags = checksum ? "-aHAXc" : "-aHAX";
  return run("rsync", flags, "--dry-run", "--itemize-changes", `${from}/`, `${to}/`)
    .split("\n").filter((l) => l !== "");
}

/**
 * The three copies the round trips compare: `backup SRC --mirror DIR/live-mirror`,
 * `restore latest --target DIR/out` and `mirror latest DIR/mirror`, each exiting 0
 * (backup and restore without a word on stderr).
 */
async function backupRestoreMirror(dir: string, env: Record<string, string>, src: string) {
  const live = `${dir}/live-mirror`;
  const b = await cairn(["backup", src, "--mirror", live], { env });
  assertEquals(b.code, 0, b.stderr);
  assertEquals(b.stderr, "");
  const out = `${dir}/out`;
  const r = await cairn(["restore", "latest", "--target", out], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(r.stderr, "");
  const mirrored = `${dir}/mirror`;
  const m = await cairn(["mirror", "latest", mirrored], { env });
  assertEquals(m.code, 0, m.stderr);
  return { live, out, mirrored };
}

async function source(): Promise<string> {
  const src = await Deno.makeTempDir({ prefix: "cairn-fidelity-" });
  await Deno.mkdir(`${src}/shared/sub`, { recursive: true });
  await Deno.writeTextFile(`${src}/note.txt`, "note\n");
  run("setfattr", "-n", "user.note", "-v", "checked by ann", `${src}/note.txt`);
  run("setfattr", "-n", "user.bin", "-v", "0x00ff10", `${src}/note.txt`);
  await Deno.writeTextFile(`${src}/acl.txt`, "acl\n");
  run("setfacl", "-m", "u:nobody:rw,g:nogroup:r", `${src}/acl.txt`);
  run("setfacl", "-d", "-m", "u:nobody:rx", `${src}/shared`);
  run("setfattr", "-n", "user.dir", "-v", "a directory's", `${src}/shared`);
  await Deno.writeTextFile(`${src}/shared/sub/inner.txt`, "inner\n");
  await Deno.copyFile("/bin/true", `${src}/ping`);
  run("setcap", "cap_net_raw+ep", `${src}/ping`);
  // 100 MiB with 4 KiB of data in the middle: a few blocks on disk.
  const sparse = await Deno.open(`${src}/sparse.img`, { write: true, create: true });
  await sparse.truncate(100 * MIB);
  await sparse.seek(50 * MIB, Deno.SeekMode.Start);
  await sparse.write(new Uint8Array(4096).fill(0x5a));
  sparse.close();
  await Deno.symlink("note.txt", `${src}/link`);
  await Deno.symlink("../../note.txt", `${src}/shared/sub/deep-link`);
  // A link's own owner (lchown), which rsync -a compares as root.
  run("chown", "-h", "65534:65534", `${src}/link`);
  // As root: trusted.* on a file and on a link itself, and an SELinux label (security.*).
  run("setfattr", "-n", "trusted.origin", "-v", "root only", `${src}/note.txt`);
  run("setfattr", "-h", "-n", "trusted.link", "-v", "a link's own", `${src}/link`);
  run("setfattr", "-n", "security.selinux", "-v", "system_u:object_r:etc_t:s0", `${src}/acl.txt`);
  run("touch", "-h", "-d", "2001-02-03 04:05:06.123456789", `${src}/link`);
  run("touch", "-h", "-d", "2002-03-04 05:06:07.000000001", `${src}/shared/sub/deep-link`);
  // Nanoseconds that milliseconds would lose, on a file and a directory too.
  run("touch", "-d", "2003-04-05 06:07:08.987654321", `${src}/note.txt`);
  run("touch", "-d", "2004-05-06 07:08:09.000000999", `${src}/shared/sub`);
  return src;
}

/** Entries whose modification times the round trip must keep to the nanosecond. */
const NS_TIMED = ["note.txt", "link", "shared/sub/deep-link", "shared/sub"];

/** `stat`'s modification time, to the nanosecond, of each of {@link NS_TIMED} below `root`. */
function mtimes(root: string): string[] {
  return NS_TIMED.map((p) => `${p} ${run("stat", "-c", "%y", `${root}/${p}`).trim()}`);
}

/** Allocated 512-byte blocks of a file. */
function blocks(path: string): number {
  return Deno.statSync(path).blocks ?? 0;
}

Deno.test({
  name:
    "backup, restore and mirror keep xattrs, ACLs, a capability, holes and nanosecond times of files, dirs and symlinks",
  // Capabilities can be set and restored only as root.
  ignore: !supported || !TOOLS || Deno.uid() !== 0,
  async fn() {
    const { dir, env } = await makeRepo();
    const src = await source();
    const sourceBlocks = blocks(`${src}/sparse.img`);
    assert(sourceBlocks < 1024, `the source is not sparse here (${sourceBlocks} blocks)`);
    const { live, out, mirrored } = await backupRestoreMirror(dir, env, src);

    for (
      const [what, copy] of [["restore", `${out}${src}`], ["mirror", mirrored], [
        "backup --mirror",
        live,
      ]]
    ) {
      // A mirror's top directory holds cairn's marker, so its own time is not the source's.
      const diff = differences(src, copy, true).filter((l) =>
        !(what !== "restore" && l.endsWith(" ./"))
      );
      assertEquals(diff, [], `${what} differs from the source`);
      assertEquals(run("getcap", `${copy}/ping`).trim(), `${copy}/ping cap_net_raw=ep`, what);
      // rsync compares these too; said once more, so a change of rsync's cannot hide them.
      assertEquals(
        readXattrs(`${copy}/link`).map((x) => x.name),
        readXattrs(`${src}/link`).map((x) => x.name),
        what,
      );
      assertStringIncludes(
        run("getfattr", "-d", "-m", "-", `${copy}/acl.txt`),
        "security.selinux",
        what,
      );
      assertStringIncludes(run("getfacl", "-cd", `${copy}/shared`), "user:nobody:r-x", what);
      const got = blocks(`${copy}/sparse.img`);
      assert(got <= sourceBlocks + 128, `${what}: the sparse file has ${got} blocks allocated`);
      assertEquals(
        (await Deno.readFile(`${copy}/sparse.img`)).subarray(50 * MIB - 1, 50 * MIB + 4097),
        new Uint8Array([0, ...new Uint8Array(4096).fill(0x5a), 0]),
        what,
      );
      assertEquals(mtimes(copy), mtimes(src), `${what}: mtimes to the nanosecond`);
    }

    // --no-xattrs: the data, without the attributes.
    const plain = `${dir}/plain`;
    const p = await cairn(["restore", "latest", "--target", plain, "--no-xattrs"], { env });
    assertEquals(p.code, 0, p.stderr);
    assertEquals(await Deno.readTextFile(`${plain}${src}/note.txt`), "note\n");
    assertEquals(readXattrs(`${plain}${src}/note.txt`), []);
    assertEquals(readXattrs(`${plain}${src}/ping`), []);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(src, { recursive: true });
  },
});

Deno.test({
  name: "an unchanged rerun keeps the parent's xattrs, and a changed xattr is seen",
  ignore: !supported || !TOOLS,
  async fn() {
    const { dir, env } = await makeRepo();
    const src = await Deno.makeTempDir({ prefix: "cairn-fidelity-" });
    for (const n of ["a", "b"]) {
      await Deno.writeTextFile(`${src}/${n}`, n);
      run("setfattr", "-n", "user.v", "-v", `${n}1`, `${src}/${n}`);
    }
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    run("setfattr", "-n", "user.v", "-v", "b2", `${src}/b`); // a new ctime, same content
    const again = await cairn(["backup", src, "--json"], { env });
    assertEquals(again.code, 0, again.stderr);
    const out = `${dir}/out`;
    assertEquals((await cairn(["restore", "latest", "--target", out], { env })).code, 0);
    assertEquals(differences(src, `${out}${src}`, true), []);
    // A backup without xattrs records none, and the next one reads them again.
    assertEquals((await cairn(["backup", src, "--no-xattrs"], { env })).code, 0);
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    const out2 = `${dir}/out2`;
    assertEquals((await cairn(["restore", "latest", "--target", out2], { env })).code, 0);
    assertEquals(differences(src, `${out2}${src}`, true), []);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(src, { recursive: true });
  },
});

Deno.test({
  name: "restore: attributes the target refuses are warnings naming them; the data is restored",
  // As root: a trusted.* and a capability, restored by a user who may set neither.
  ignore: !supported || !TOOLS || Deno.uid() !== 0 || UNPRIVILEGED === undefined,
  async fn() {
    const { dir, env } = await makeRepo();
    const src = await Deno.makeTempDir({ prefix: "cairn-fidelity-" });
    await Deno.copyFile("/bin/true", `${src}/ping`);
    run("setcap", "cap_net_raw+ep", `${src}/ping`);
    await Deno.writeTextFile(`${src}/t.txt`, "trusted\n");
    run("setfattr", "-n", "trusted.origin", "-v", "root only", `${src}/t.txt`);
    run("setfattr", "-n", "user.note", "-v", "anyone", `${src}/t.txt`);
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    const out = `${dir}/out`;
    await Deno.mkdir(out, { mode: 0o777 });
    await Deno.chmod(out, 0o777);
    const r = await cairn(["restore", "latest", "--target", out], { env, wrap: UNPRIVILEGED });
    // Refused attributes: exit 3, the data is all there.
    assertEquals(r.code, 3, r.stderr);
    assertStringIncludes(
      r.stderr,
      `warning: ${src}/t.txt: extended attribute trusted.origin not restored: Operation not permitted`,
    );
    assertStringIncludes(
      r.stderr,
      `warning: ${src}/ping: extended attribute security.capability not restored:`,
    );
    assertEquals(await Deno.readTextFile(`${out}${src}/t.txt`), "trusted\n");
    assertEquals(await Deno.readFile(`${out}${src}/ping`), await Deno.readFile(`${src}/ping`));
    assertEquals(
      readXattrs(`${out}${src}/t.txt`).map((x) => x.name),
      ["user.note"],
    );
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(src, { recursive: true });
  },
});

/**
 * A tree whose names hold bytes that are not UTF-8 (0xE9 as Latin-1 writes
 * é, and 0xFF): files, a directory, a symlink (its target such a name too),
 * a hard link, an xattr. Deno cannot make such names; the shell can.
 */
async function byteNamesSource(): Promise<string> {
  const src = await Deno.makeTempDir({ prefix: "cairn-names-" });
  run(
    "sh",
    "-c",
    `cd "$1" && e=$(printf '\\351') && f=$(printf '\\377') &&
    printf 'caf\\n' > "caf$e" && printf 'ff\\n' > "x$f" && mkdir "d$e$f" &&
    printf 'in\\n' > "d$e$f/inner$e" && ln -s "caf$e" "link$f" && ln -s "d$e$f/inner$e" plain-link && ln "x$f" "d$e$f/hard$e" &&
    printf 'plain\\n' > 'caf\\xE9' && setfattr -n user.n -v "$e" "caf$e" &&
    touch -h -d '2001-02-03 04:05:06.5' "link$f" "d$e$f"`,
    "sh",
    src,
  );
  return src;
}

Deno.test({
  name: "backup, restore, mirror and tar keep names that are not UTF-8 byte for byte",
  ignore: !supported || !TOOLS,
  async fn() {
    const { dir, env } = await makeRepo();
    const src = await byteNamesSource();
    const { live, out, mirrored } = await backupRestoreMirror(dir, env, src);
    const tarred = `${dir}/tar`;
    await Deno.mkdir(tarred);
    const tar = `${dir}/a.tar`;
    const d = await cairn(["dump", "latest", src, "--archive", "tar"], { env });
    assertEquals(d.code, 0, d.stderr);
    await Deno.writeFile(tar, d.stdoutBytes);
    run("tar", "-xpf", tar, "-C", tarred);
    for (
      const [what, copy] of [
        ["restore", `${out}${src}`],
        ["mirror", mirrored],
        ["backup --mirror", live],
        ["dump --archive tar", `${tarred}/${src.slice(src.lastIndexOf("/") + 1)}`],
      ]
    ) {
      // A mirror's top directory holds cairn's marker, so its own time is not the source's;
      // tar keeps no xattrs (-A, -X) unless asked.
      const flags = what.startsWith("dump") ? "-aHc" : "-aHAXc";
      const diff = run("rsync", flags, "--dry-run", "--itemize-changes", `${src}/`, `${copy}/`)
        .split("\n").filter((l) => l !== "" && !(what !== "restore" && l.endsWith(" ./")));
      assertEquals(diff, [], `${what} differs from the source`);
    }
    // Once more into the same place: every entry is found and replaced by its bytes.
    const again = await cairn(["restore", "latest", "--target", out, "--delete"], { env });
    assertEquals(again.code, 0, again.stderr);
    assertEquals(differences(src, `${out}${src}`, true), []);
    assertEquals(differences(`${out}${src}`, src, true), [], "nothing extra restored");
    // Listed with each such byte as \xHH.
    const ls = await cairn(["ls", "latest", src], { env });
    assertStringIncludes(ls.stdout, `${src}/d\\xE9\\xFF/inner\\xE9\n`);
    assertStringIncludes(ls.stdout, `${src}/x\\xFF\n`);
    // A changed file by such a name: an unchanged rerun, then the mirror updates it in place.
    run("sh", "-c", `printf 'more\\n' >> "$1/x$(printf '\\377')"`, "sh", src);
    const b2 = await cairn(["backup", src, "--mirror", live, "--json"], { env });
    assertEquals(b2.code, 0, b2.stderr);
    assertEquals(differences(src, live, true).filter((l) => !l.endsWith(" ./")), []);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(src, { recursive: true });
  },
});

/** Loop devices and mkfs.ext4, as root: where file flags can be tested (tmpfs may lack them). */
const CAN_LOOP = Deno.uid() === 0 && has("mkfs.ext4") && has("chattr") && has("lsattr") &&
  (() => {
    try {
      run("losetup", "-f");
      return true;
    } catch {
      return false;
    }
  })();

/** lsattr's flag letters of each entry below `root` (sorted by path), `-` for none. */
function flagsBelow(root: string): string[] {
  return run("lsattr", "-R", "-a", root).split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length === 2 && !p[1].endsWith("/.") && !p[1].endsWith("/.."))
    // ext4 sets `e` (extents) itself: not a flag a backup keeps.
    .map(([flags, path]) => `${path.slice(root.length)} ${flags.replace(/[-e]/g, "") || "-"}`)
    .sort();
}

Deno.test({
  name:
    "file flags (chattr +i, +a, +d, +A) survive backup, restore and the mirror (but i, a) on ext4",
  ignore: !supported || !CAN_LOOP,
  async fn() {
    const { dir, env } = await makeRepo();
    const mnt = `${dir}/mnt`;
    await Deno.mkdir(mnt);
    run("truncate", "-s", "64M", `${dir}/fs.img`);
    run("mkfs.ext4", "-q", "-F", `${dir}/fs.img`);
    run("mount", "-o", "loop", `${dir}/fs.img`, mnt);
    const src = `${mnt}/src`;
    try {
      await Deno.mkdir(`${src}/frozen`, { recursive: true });
      await Deno.mkdir(`${src}/quiet`);
      await Deno.writeTextFile(`${src}/frozen/inside.txt`, "kept\n");
      await Deno.writeTextFile(`${src}/immutable.txt`, "fixed\n");
      await Deno.writeTextFile(`${src}/append.log`, "line 1\n");
      await Deno.writeTextFile(`${src}/nodump.bin`, "skip me\n");
      await Deno.writeTextFile(`${src}/quiet/plain.txt`, "plain\n");
      run("touch", "-d", "2005-06-07 08:09:10.123456789", `${src}/immutable.txt`);
      run("chattr", "+i", `${src}/immutable.txt`);
      run("chattr", "+a", `${src}/append.log`);
      run("chattr", "+d", `${src}/nodump.bin`);
      run("chattr", "+A", `${src}/quiet`);
      run("chattr", "+i", `${src}/frozen`);
      const want = flagsBelow(src);
      assertStringIncludes(want.join("\n"), "/immutable.txt i");

      const live = `${mnt}/live`;
      const b = await cairn(["backup", src, "--mirror", live], { env });
      assertEquals(b.code, 0, b.stderr);
      assertEquals(b.stderr, "");
      const mirrored = `${mnt}/mirror`;
      const m = await cairn(["mirror", "latest", mirrored], { env });
      assertEquals(m.code, 0, m.stderr);
      assertEquals(m.stderr, "");
      // A mirror copy is never immutable or append only: the next run must be free to update it.
      const mirrorable = want.map((l) => l.replace(/ [ia]+$/, " -").replace(/[ia]+$/, ""));
      for (const copy of [live, mirrored]) {
        const got = flagsBelow(copy).filter((l) => !l.startsWith("/.cairn-mirror"));
        assertEquals(got, mirrorable, copy);
      }
      assertStringIncludes(mirrorable.join("\n"), "/quiet A");
      // Once more, after a change: the copies with flags are updated in place.
      await Deno.writeTextFile(`${src}/quiet/plain.txt`, "changed\n");
      const again = await cairn(["backup", src, "--mirror", live], { env });
      assertEquals(again.code, 0, again.stderr);
      assertEquals(await Deno.readTextFile(`${live}/quiet/plain.txt`), "changed\n");
      const m2 = await cairn(["mirror", "latest", mirrored], { env });
      assertEquals(m2.code, 0, m2.stderr);
      assertEquals(flagsBelow(mirrored).filter((l) => !l.startsWith("/.cairn-mirror")), mirrorable);
      const out = `${mnt}/out`;
      const r = await cairn(["restore", "latest", "--target", out], { env });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stderr, "");
      assertEquals(flagsBelow(`${out}${src}`), want);
      // Data and times were written before the flags that forbid them.
      assertEquals(await Deno.readTextFile(`${out}${src}/frozen/inside.txt`), "kept\n");
      assertEquals(
        run("stat", "-c", "%y", `${out}${src}/immutable.txt`),
        run("stat", "-c", "%y", `${src}/immutable.txt`),
      );

      // Without the right to set them: a warning naming the file and the flag, exit 3, data kept.
      if (UNPRIVILEGED !== undefined) {
        const out2 = `${mnt}/out2`;
        await Deno.mkdir(out2, { mode: 0o777 });
        await Deno.chmod(out2, 0o777);
        const u = await cairn(["restore", "latest", "--target", out2], { env, wrap: UNPRIVILEGED });
        assertEquals(u.code, 3, u.stderr);
        assertStringIncludes(
          u.stderr,
          `warning: ${src}/immutable.txt: file flags +i not restored: Operation not permitted`,
        );
        assertStringIncludes(
          u.stderr,
          `warning: ${src}/append.log: file flags +a not restored: Operation not permitted`,
        );
        assertEquals(await Deno.readTextFile(`${out2}${src}/immutable.txt`), "fixed\n");
        assertEquals(await Deno.readTextFile(`${out2}${src}/frozen/inside.txt`), "kept\n");
      }
    } finally {
      new Deno.Command("chattr", { args: ["-R", "-i", "-a", mnt], stderr: "null" }).outputSync();
      run("umount", mnt);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
