/**
 * Commands and flags the README lists that no other end-to-end test runs:
 * `cairn prune` on its own (not through `forget --prune`), `restore
 * --special`, and `backup --one-file-system`.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, randomBytes } from "./_launcher.ts";

/** Every file of the repository, by path. */
async function repoFiles(repo: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`, `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}`);
    }
  };
  await walk(repo, "");
  return out.sort();
}

interface PruneJson {
  dry_run: boolean;
  packs_dropped: number;
  packs_deleted: number;
  packs_pending: number;
  bytes_freed: number;
}

Deno.test("cairn prune drops forgotten data from the index, deletes it after the grace, and keeps the rest", async () => {
  const { dir, env } = await makeRepo();
  const repo = env.CAIRN_REPO;
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  await Deno.writeTextFile(`${src}/kept.txt`, "in both snapshots\n");
  await Deno.writeFile(`${src}/big.bin`, randomBytes(300_000));
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  const second = randomBytes(300_000);
  await Deno.writeFile(`${src}/big.bin`, second);
  assertEquals((await cairn(["backup", src], { env })).code, 0);
  assertEquals((await cairn(["forget", "--keep-last", "1"], { env })).code, 0);
  const afterForget = await repoFiles(repo);

  // A dry run, even with no grace, changes nothing.
  const dry = await cairn(["prune", "--dry-run", "--grace", "0", "--json"], { env });
  assertEquals(dry.code, 0, dry.stderr);
  const plan = lastJson<PruneJson>(dry);
  assertEquals(plan.dry_run, true);
  assert(plan.packs_dropped >= 1, `the dry run plans to drop ${plan.packs_dropped} packs`);
  assertEquals(await repoFiles(repo), afterForget);

  // With the default grace (an hour), packs written just now are left alone.
  const young = lastJson<PruneJson>(await cairn(["prune", "--json"], { env }));
  assertEquals([young.packs_dropped, young.packs_deleted], [0, 0]);
  const packs = (files: string[]) => files.filter((f) => f.startsWith("data/"));
  assertEquals(packs(await repoFiles(repo)), packs(afterForget));

  // Two hours later (pack times moved back), they leave the index but stay on disk.
  const past = new Date(Date.now() - 2 * 3600_000);
  for (const f of packs(afterForget)) await Deno.utime(`${repo}/${f}`, past, past);
  const graced = await cairn(["prune", "--json"], { env });
  assertEquals(graced.code, 0, graced.stderr);
  const g = lastJson<PruneJson>(graced);
  assertEquals([g.packs_dropped, g.packs_deleted], [plan.packs_dropped, 0]);
  assertEquals(g.packs_pending, plan.packs_dropped);
  const beforeDelete = packs(await repoFiles(repo));
  assert(packs(afterForget).every((f) => beforeDelete.includes(f)), "a pack was deleted at once");

  // Once no backup can be running (grace 0), they are deleted.
  const done = await cairn(["prune", "--grace", "0", "--json"], { env });
  assertEquals(done.code, 0, done.stderr);
  const d = lastJson<PruneJson>(done);
  assertEquals([d.packs_dropped, d.packs_deleted], [0, g.packs_pending]);
  assert(d.bytes_freed >= 300_000, `freed ${d.bytes_freed} bytes`);
  const left = packs(await repoFiles(repo));
  assertEquals(left.length, beforeDelete.length - d.packs_deleted);
  assert(left.every((f) => beforeDelete.includes(f)), "the second prune only deletes");

  const check = await cairn(["check", "--read-data"], { env });
  assertEquals(check.code, 0, check.stdout + check.stderr);
  const out = `${dir}/out`;
  assertEquals((await cairn(["restore", "latest", "--target", out], { env })).code, 0);
  assertEquals(await Deno.readFile(`${out}${src}/big.bin`), second);
  assertEquals(await Deno.readTextFile(`${out}${src}/kept.txt`), "in both snapshots\n");

  const again = lastJson<PruneJson>(await cairn(["prune", "--grace", "0", "--json"], { env }));
  assertEquals([again.packs_dropped, again.packs_deleted], [0, 0]);
  const bad = await cairn(["prune", "--max-unused", "abc"], { env });
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "--max-unused");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("restore leaves out setuid bits, FIFOs and devices unless --special is given", async () => {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  await Deno.writeTextFile(`${src}/suid`, "#!/bin/sh\n");
  await Deno.chmod(`${src}/suid`, 0o4755);
  await Deno.writeTextFile(`${src}/sgid`, "x");
  await Deno.chmod(`${src}/sgid`, 0o2750);
  await Deno.mkdir(`${src}/sticky`);
  await Deno.chmod(`${src}/sticky`, 0o1777);
  const mk = await new Deno.Command("mkfifo", { args: ["-m", "0640", `${src}/fifo`] }).output();
  assert(mk.success, "mkfifo");
  const root = Deno.uid() === 0;
  if (root) {
    const dev = await new Deno.Command("mknod", {
      args: ["-m", "0600", `${src}/null`, "c", "1", "3"],
    })
      .output();
    assert(dev.success, "mknod");
  }
  assertEquals((await cairn(["backup", src], { env })).code, 0);

  const plain = `${dir}/plain`;
  const p = await cairn(["restore", "latest", "--target", plain, "--json"], { env });
  assertEquals(p.code, 0, p.stderr);
  const mode = async (path: string) => (await Deno.lstat(path)).mode! & 0o7777;
  assertEquals(await mode(`${plain}${src}/suid`), 0o755);
  assertEquals(await mode(`${plain}${src}/sgid`), 0o750);
  const names = (await Array.fromAsync(Deno.readDir(`${plain}${src}`))).map((e) => e.name).sort();
  assertEquals(names, ["sgid", "sticky", "suid"], "no FIFO or device without --special");
  assertStringIncludes(p.stderr, `${src}/fifo`);

  const special = `${dir}/special`;
  const s = await cairn(["restore", "latest", "--target", special, "--special"], { env });
  assertEquals(s.code, 0, s.stderr);
  assertEquals(await mode(`${special}${src}/suid`), 0o4755);
  assertEquals(await mode(`${special}${src}/sgid`), 0o2750);
  assertEquals(await mode(`${special}${src}/sticky`), 0o1777);
  const fifo = await Deno.lstat(`${special}${src}/fifo`);
  assert(fifo.isFifo, "the FIFO is back");
  assertEquals(fifo.mode! & 0o7777, 0o640);
  if (root) {
    const dev = await Deno.lstat(`${special}${src}/null`);
    assert(dev.isCharDevice, "the device is back");
    assertEquals(dev.rdev, (await Deno.lstat(`${src}/null`)).rdev);
  }
  await Deno.remove(dir, { recursive: true });
});

/**
 * A command that runs the rest of its arguments in a private mount namespace
 * with a tmpfs on `mnt` holding `inner.txt` (root, or a user namespace).
 */
function withTmpfs(mnt: string): string[] {
  return [
    "unshare",
    "--mount",
    ...(Deno.uid() === 0 ? [] : ["--map-root-user"]),
    "sh",
    "-c",
    'mount -t tmpfs -o size=1m tmpfs "$0" && echo inner > "$0/inner.txt" && exec "$@"',
    mnt,
  ];
}

/** Can this machine mount a tmpfs in a private namespace? Without it the test is ignored. */
const CAN_MOUNT = await (async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [cmd, ...args] = withTmpfs(dir);
    return (await new Deno.Command(cmd, { args: [...args, "true"], stderr: "null" }).output())
      .success;
  } catch {
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
})();

Deno.test({
  name: "backup --one-file-system keeps a mount point but not what is mounted on it",
  ignore: !CAN_MOUNT,
}, async () => {
  const { dir, env } = await makeRepo();
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/mnt`, { recursive: true });
  await Deno.writeTextFile(`${src}/outer.txt`, "outer\n");
  const wrap = withTmpfs(`${src}/mnt`);
  const listing = async (args: string[]) => {
    const b = await cairn(["backup", ...args, src, "--json"], { env, wrap });
    assertEquals(b.code, 0, b.stderr);
    const id = lastJson<{ snapshot: string }>(b).snapshot;
    const ls = await cairn(["ls", id, src], { env });
    assertEquals(ls.code, 0, ls.stderr);
    return ls.stdout.trim().split("\n").map((p) => p.slice(src.length));
  };
  assertEquals(await listing([]), ["", "/mnt", "/mnt/inner.txt", "/outer.txt"]);
  assertEquals(await listing(["--one-file-system"]), ["", "/mnt", "/outer.txt"]);
  await Deno.remove(dir, { recursive: true });
});
