import { assert, assertEquals, assertStringIncludes, assertThrows } from "../testing/asserts.ts";
import { MIRROR_LOCK_NAME, MirrorRefusedError } from "./marker.ts";
import { MirrorLock, processAlive } from "./mirror_lock.ts";
import { lstatOrNull } from "../fs/mod.ts";

const HOST = Deno.hostname();

function writeLock(dir: string, info: unknown, ageMs = 0): void {
  const path = `${dir}/${MIRROR_LOCK_NAME}`;
  Deno.writeTextFileSync(path, typeof info === "string" ? info : JSON.stringify(info));
  if (ageMs) Deno.utimeSync(path, new Date(Date.now() - ageMs), new Date(Date.now() - ageMs));
}

function readLock(dir: string): { host: string; pid: number; time: string } {
  return JSON.parse(Deno.readTextFileSync(`${dir}/${MIRROR_LOCK_NAME}`));
}

const exists = (path: string) => lstatOrNull(path) !== null;

/** The pid of a process that has finished. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" }).spawn();
  await child.status;
  return child.pid;
}

Deno.test("MirrorLock.acquire() creates the lock naming this host and pid; release() removes it", () => {
  const dir = Deno.makeTempDirSync();
  const lock = MirrorLock.acquire(`${dir}/new/mirror`);
  assertEquals(lock.path, `${Deno.realPathSync(dir)}/new/mirror/${MIRROR_LOCK_NAME}`);
  const info = readLock(`${dir}/new/mirror`);
  assertEquals([info.host, info.pid], [HOST, Deno.pid]);
  assert(!Number.isNaN(Date.parse(info.time)));
  lock.release();
  lock.release();
  assert(!exists(lock.path));
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a second lock of one folder is refused while the first is held in this process", () => {
  const dir = Deno.makeTempDirSync();
  const lock = MirrorLock.acquire(dir);
  const err = assertThrows(() => MirrorLock.acquire(dir), MirrorRefusedError);
  assertStringIncludes(err.message, lock.path);
  assertStringIncludes(err.message, `pid ${Deno.pid} (this process)`);
  lock.release();
  MirrorLock.acquire(dir).release();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a lock held by a live process is refused; once it has ended the lock is replaced", async () => {
  const dir = Deno.makeTempDirSync();
  const holder = new Deno.Command("sleep", { args: ["30"], stdout: "null" }).spawn();
  writeLock(dir, { host: HOST, pid: holder.pid, time: "2024-03-01T12:00:00.000Z" });
  const err = assertThrows(() => MirrorLock.acquire(dir), MirrorRefusedError);
  assertStringIncludes(err.message, `${Deno.realPathSync(dir)}/${MIRROR_LOCK_NAME}`);
  assertStringIncludes(err.message, `host ${HOST}, pid ${holder.pid}`);
  assertEquals(err.message.includes("\n"), false);
  assertEquals(readLock(dir).pid, holder.pid, "the holder's lock is left alone");

  holder.kill("SIGKILL");
  await holder.status;
  const warnings: string[] = [];
  const lock = MirrorLock.acquire(dir, { onWarning: (m) => warnings.push(m) });
  assertEquals(readLock(dir).pid, Deno.pid);
  assertEquals(warnings.length, 1);
  assertStringIncludes(warnings[0], `process ${holder.pid} is not running`);
  lock.release();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a stale lock of a dead pid is replaced with a warning, and no temp file is left", async () => {
  const dir = Deno.makeTempDirSync();
  const pid = await deadPid();
  writeLock(dir, { host: HOST, pid, time: "2024-03-01T12:00:00.000Z" });
  const warnings: string[] = [];
  const lock = MirrorLock.acquire(dir, { onWarning: (m) => warnings.push(m) });
  assertStringIncludes(warnings[0], "replaced the stale mirror lock");
  assertStringIncludes(warnings[0], `pid ${pid}`);
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), [MIRROR_LOCK_NAME]);
  lock.release();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a lock of this pid not held by this process is a leftover (a pid reused in a container)", () => {
  const dir = Deno.makeTempDirSync();
  writeLock(dir, { host: HOST, pid: Deno.pid, time: "2024-03-01T12:00:00.000Z" });
  const warnings: string[] = [];
  const lock = MirrorLock.acquire(dir, { onWarning: (m) => warnings.push(m) });
  assertStringIncludes(warnings[0], "its pid is this process");
  lock.release();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("another host's lock is refused until it has not been refreshed for the stale bound", () => {
  const dir = Deno.makeTempDirSync();
  const other = { host: `not-${HOST}`, pid: 1, time: "2024-03-01T12:00:00.000Z" };
  writeLock(dir, other, 3600_000);
  assertThrows(() => MirrorLock.acquire(dir), MirrorRefusedError, `host not-${HOST}, pid 1`);
  writeLock(dir, other, 7 * 3600_000);
  const warnings: string[] = [];
  const lock = MirrorLock.acquire(dir, { onWarning: (m) => warnings.push(m) });
  assertStringIncludes(warnings[0], "last refreshed 7 h ago");
  lock.release();
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("an unreadable lock is taken as being written for a minute, then as stale", () => {
  const dir = Deno.makeTempDirSync();
  writeLock(dir, "");
  assertThrows(() => MirrorLock.acquire(dir), MirrorRefusedError, "unreadable");
  writeLock(dir, "{not json", 120_000);
  const warnings: string[] = [];
  MirrorLock.acquire(dir, { onWarning: (m) => warnings.push(m) }).release();
  assertStringIncludes(warnings[0], "not a valid lock");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a held lock is refreshed, and release() leaves a lock that is no longer ours", () => {
  const dir = Deno.makeTempDirSync();
  const warnings: string[] = [];
  // The lock's refresh timer is taken from setInterval() as it is created and
  // run by hand: each call below is one tick, with no wait on the clock.
  const ticks: (() => void)[] = [];
  const realSetInterval = globalThis.setInterval;
  globalThis.setInterval = ((fn: () => void) => {
    ticks.push(fn);
    return realSetInterval(() => {}, 2 ** 31 - 1); // a real id for unrefTimer and clearInterval
  }) as typeof setInterval;
  const T = Date.UTC(2030, 0, 1);
  let lock: MirrorLock;
  try {
    lock = MirrorLock.acquire(dir, {
      refreshMs: 10,
      now: () => T,
      onWarning: (m) => warnings.push(m),
    });
  } finally {
    globalThis.setInterval = realSetInterval;
  }
  assertEquals(ticks.length, 1);
  const old = new Date(Date.now() - 3600_000);
  Deno.utimeSync(lock.path, old, old);
  ticks[0]();
  assertEquals(Deno.statSync(lock.path).mtime!.getTime(), T, "touched");
  // Another run judged it stale and replaced it: this run must not remove that lock.
  Deno.writeTextFileSync(`${dir}/other`, JSON.stringify({ host: "h", pid: 1, time: "t" }));
  Deno.renameSync(`${dir}/other`, lock.path);
  ticks[0]();
  assertEquals(warnings.length, 1);
  assertStringIncludes(warnings[0], "taken over");
  lock.release();
  assertEquals(readLock(dir).host, "h");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a mirror path that is a file is refused", () => {
  const dir = Deno.makeTempDirSync();
  Deno.writeTextFileSync(`${dir}/file`, "");
  assertThrows(() => MirrorLock.acquire(`${dir}/file`), MirrorRefusedError, "not a directory");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("processAlive() sees this process and not one that has ended", async () => {
  assertEquals(processAlive(Deno.pid), true);
  assertEquals(processAlive(await deadPid()), false);
  assertEquals(processAlive(0), false);
});
