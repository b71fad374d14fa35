import { assertEquals } from "../testing/asserts.ts";
import { type FileStat, lstat, lstatInto, setLinkTimes, STAT_FIELDS } from "../platform/mod.ts";
import { decodeInfo, FIELDS } from "./_lister_protocol.ts";

/** Every field of a FileStat, the lazily made ones included. */
function fields(i: FileStat) {
  return {
    kinds: [
      i.isFile,
      i.isDirectory,
      i.isSymlink,
      i.isFifo,
      i.isSocket,
      i.isCharDevice,
      i.isBlockDevice,
    ],
    size: i.size,
    mode: i.mode,
    uid: i.uid,
    gid: i.gid,
    ino: i.ino,
    dev: i.dev,
    nlink: i.nlink,
    rdev: i.rdev,
    times: [i.mtime?.getTime(), i.atime?.getTime(), i.ctime?.getTime(), i.birthtime?.getTime()],
    ns: [i.mtimeNs, i.atimeNs, i.ctimeNs],
  };
}

Deno.test("decodeInfo(lstatInto()) is lstat() field for field: kinds, owners, devices, times before 1970 and in ns", () => {
  assertEquals(FIELDS, STAT_FIELDS);
  const dir = Deno.makeTempDirSync({ prefix: "cairn-lister-protocol-" });
  try {
    Deno.writeTextFileSync(`${dir}/file`, "12345");
    Deno.linkSync(`${dir}/file`, `${dir}/hard`);
    Deno.symlinkSync("file", `${dir}/link`);
    Deno.mkdirSync(`${dir}/sub`);
    new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
    // Times in nanoseconds, one before 1970 with a sub-second part, one far ahead.
    setLinkTimes(`${dir}/file`, -1_234_567_891n, 1_700_000_000_123_456_789n);
    setLinkTimes(`${dir}/link`, 4_102_444_800_999_999_999n, -86_400_000_000_001n);
    if (Deno.uid() === 0) Deno.chownSync(`${dir}/sub`, 12345, 54321);
    const paths = ["file", "hard", "link", "sub", "fifo"].map((n) => `${dir}/${n}`);
    paths.push("/dev/null", dir);
    const out = new Float64Array(FIELDS * (paths.length + 1));
    paths.forEach((p, i) => lstatInto(p, out, FIELDS * (i + 1)));
    paths.forEach((p, i) => {
      assertEquals(fields(decodeInfo(out, FIELDS * (i + 1))), fields(lstat(p)), p);
    });
    assertEquals(lstat(`${dir}/file`).mtimeNs, "1700000000123456789");
    assertEquals(lstat(`${dir}/file`).atimeNs, "-1234567891");
    assertEquals(decodeInfo(out, FIELDS * 3).mtimeNs, "-86400000000001");
    if (Deno.uid() === 0) assertEquals(decodeInfo(out, FIELDS * 4).uid, 12345);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
