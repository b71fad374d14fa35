import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, makeRepo } from "./_launcher.ts";

async function run(cmd: string, args: string[], stdin?: Uint8Array) {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin) {
    const w = child.stdin.getWriter();
    await w.write(stdin);
    await w.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `${cmd} ${args.join(" ")}: ${text}`);
  return text;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

const isRoot = Deno.uid() === 0;

Deno.test("dump --archive tar streams a directory GNU tar extracts with modes, times and links", async () => {
  const { dir, env } = await makeRepo();
  const src = `${dir}/data`;
  const long = `${src}/deep/${"d".repeat(120)}`;
  await Deno.mkdir(long, { recursive: true });
  const big = randomBytes(3_000_001);
  await Deno.writeFile(`${src}/big.bin`, big);
  await Deno.writeTextFile(`${src}/a.txt`, "alpha\n");
  await Deno.link(`${src}/a.txt`, `${src}/deep/hard.txt`);
  await Deno.symlink("../a.txt", `${src}/deep/link`);
  await Deno.writeTextFile(`${long}/ünïcode.txt`, "long and not ASCII\n");
  await Deno.writeTextFile(`${src}/empty`, "");
  await Deno.chmod(`${src}/a.txt`, 0o640);
  await Deno.chmod(`${src}/deep`, 0o2750);
  await run("mkfifo", [`${src}/pipe`]);
  await Deno.utime(
    `${src}/a.txt`,
    new Date("2020-01-02T03:04:05.250Z"),
    new Date("2020-01-02T03:04:05.250Z"),
  );
  if (isRoot) await Deno.chown(`${src}/big.bin`, 1234, 5678);
  const b = await cairn(["backup", src], { env });
  assertEquals(b.code, 0, b.stderr);

  const dump = await cairn(["dump", "latest", src, "--archive", "tar"], { env });
  assertEquals(dump.code, 0, dump.stderr);
  assertEquals(dump.stdoutBytes.length % 512, 0, "whole tar blocks");
  const listing = await run("tar", ["-tvf", "-"], dump.stdoutBytes);
  assertStringIncludes(listing, "data/deep/hard.txt link to data/a.txt");
  assertStringIncludes(listing, "data/deep/link -> ../a.txt");

  const out = `${dir}/out`;
  await Deno.mkdir(out);
  await run("tar", ["-xpf", "-", "-C", out], dump.stdoutBytes);
  const got = `${out}/data`;
  assertEquals(await Deno.readFile(`${got}/big.bin`), big);
  assertEquals(await Deno.readTextFile(`${got}/a.txt`), "alpha\n");
  assertEquals(await Deno.readTextFile(`${got}/empty`), "");
  assertEquals(
    await Deno.readTextFile(`${got}/deep/${"d".repeat(120)}/ünïcode.txt`),
    "long and not ASCII\n",
  );
  assertEquals(await Deno.readLink(`${got}/deep/link`), "../a.txt");
  const a = await Deno.lstat(`${got}/a.txt`);
  assertEquals(a.mode! & 0o7777, 0o640);
  assertEquals(a.mtime?.toISOString(), "2020-01-02T03:04:05.250Z", "sub-second time via pax");
  assertEquals(a.nlink, 2);
  assertEquals((await Deno.lstat(`${got}/deep/hard.txt`)).ino, a.ino, "a hard link again");
  assertEquals((await Deno.lstat(`${got}/deep`)).mode! & 0o7777, 0o2750);
  assert((await Deno.lstat(`${got}/pipe`)).isFifo);
  const srcBig = await Deno.lstat(`${src}/big.bin`);
  const gotBig = await Deno.lstat(`${got}/big.bin`);
  assertEquals(gotBig.mtime?.getTime(), srcBig.mtime?.getTime());
  if (isRoot) assertEquals([gotBig.uid, gotBig.gid], [1234, 5678]);

  // zip: unzip extracts the same files, modes and (whole-second) times; the
  // hard link is a second copy, and the FIFO is left out with a warning.
  const zip = await cairn(["dump", "latest", src, "--archive", "zip"], { env });
  assertEquals(zip.code, 0, zip.stderr);
  assertStringIncludes(zip.stderr, "/pipe: a fifo cannot be stored in a zip archive; left out");
  await Deno.writeFile(`${dir}/d.zip`, zip.stdoutBytes);
  assertStringIncludes(await run("unzip", ["-t", `${dir}/d.zip`]), "No errors detected");
  const zout = `${dir}/zout`;
  await run("unzip", ["-q", "-X", "-K", `${dir}/d.zip`, "-d", zout]);
  const z = `${zout}/data`;
  assertEquals(await Deno.readFile(`${z}/big.bin`), big);
  assertEquals(await Deno.readTextFile(`${z}/deep/hard.txt`), "alpha\n");
  assertEquals(
    await Deno.readTextFile(`${z}/deep/${"d".repeat(120)}/ünïcode.txt`),
    "long and not ASCII\n",
  );
  assertEquals(await Deno.readLink(`${z}/deep/link`), "../a.txt");
  const za = await Deno.lstat(`${z}/a.txt`);
  assertEquals(za.mode! & 0o7777, 0o640);
  assertEquals(za.mtime?.toISOString(), "2020-01-02T03:04:05.000Z");
  assertEquals((await Deno.lstat(`${z}/deep`)).mode! & 0o7777, 0o2750);
  if (isRoot) {
    const zb = await Deno.lstat(`${z}/big.bin`);
    assertEquals([zb.uid, zb.gid], [1234, 5678]);
  }

  // A file dumps as a one-member archive; an unknown format is a usage error.
  const one = await cairn(["dump", "latest", `${src}/a.txt`, "--archive", "tar"], { env });
  assertEquals((await run("tar", ["-tf", "-"], one.stdoutBytes)).trim(), "a.txt");
  const bad = await cairn(["dump", "latest", src, "--archive", "rar"], { env });
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "--archive rar: unknown format");
  await Deno.remove(dir, { recursive: true });
});
