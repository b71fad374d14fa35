import { LocalBackend } from "../src/backend/mod.ts";
import {
  acquireExclusiveLock,
  acquireSharedLock,
  listLocks,
  releaseLock,
  Repository,
} from "../src/repo/mod.ts";
import { assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";
import { deadPid } from "../src/testing/dead_pid.ts";

Deno.test("cairn unlock removes a killed process's lock at once; --remove-all removes live ones", async () => {
  const { dir, env } = await makeRepo();
  const repo = await Repository.open(new LocalBackend(`${dir}/repo`), env.CAIRN_PASSWORD);
  await acquireSharedLock(repo, { pid: await deadPid(), refreshMs: 0 });
  await acquireSharedLock(repo, { host: "elsewhere", refreshMs: 0 });
  const r = await cairn(["unlock", "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(lastJson<{ removed: string[] }>(r).removed.length, 1);
  assertEquals((await listLocks(repo)).map((l) => l.host), ["elsewhere"]);
  const all = await cairn(["unlock", "--remove-all"], { env });
  assertEquals(all.code, 0, all.stderr);
  assertStringIncludes(all.stdout, "removed 1 lock(s)");
  assertEquals(await listLocks(repo), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("prune --unlock-stale removes a killed backup's lock and then drops data", async () => {
  const { dir, env } = await makeRepo();
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  await Deno.writeTextFile(`${src}/a.txt`, "a\n");
  const b = await cairn(["backup", src, "--json"], { env });
  assertEquals(b.code, 0, b.stderr);
  const repo = await Repository.open(new LocalBackend(`${dir}/repo`), env.CAIRN_PASSWORD);
  await repo.backend.remove("snapshots", lastJson<{ snapshot: string }>(b).snapshot);
  await acquireSharedLock(repo, { pid: await deadPid(), refreshMs: 0 });
  const p = await cairn(["prune", "--grace", "0", "--unlock-stale", "--json"], { env });
  assertEquals(p.code, 0, p.stderr);
  const stats = lastJson<{ backups_running: number; packs_deleted: number }>(p);
  assertEquals(stats.backups_running, 0);
  assertEquals(stats.packs_deleted > 0, true);
  assertEquals(await listLocks(repo), []);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("forget --prune that cannot lock forgets nothing", async () => {
  const { dir, env } = await makeRepo();
  const src = await Deno.makeTempDir({ prefix: "cairn-src-" });
  await Deno.writeTextFile(`${src}/a.txt`, "a\n");
  for (let i = 0; i < 2; i++) assertEquals((await cairn(["backup", src], { env })).code, 0);
  const repo = await Repository.open(new LocalBackend(`${dir}/repo`), env.CAIRN_PASSWORD);
  const other = await acquireExclusiveLock(repo, { host: "elsewhere", refreshMs: 0 });
  const f = await cairn(["forget", "--keep-last", "1", "--prune"], { env });
  assertEquals(f.code, 1);
  assertStringIncludes(f.stderr, "locked");
  assertEquals((await repo.listSnapshots()).length, 2);
  await releaseLock(other);
  const again = await cairn(["forget", "--keep-last", "1", "--prune"], { env });
  assertEquals(again.code, 0, again.stderr);
  assertEquals((await repo.listSnapshots()).length, 1);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});
