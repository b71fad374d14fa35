import { assert, assertEquals, assertRejects, assertThrows } from "../testing/asserts.ts";
import { MARKER_NAME, MIRROR_LOCK_NAME, MirrorRefusedError } from "./marker.ts";
import { type MirrorOptions, MirrorRun } from "./mirror_run.ts";
import { lstatOrNull } from "../fs/mod.ts";

const VALUES = { job: "www", host: "web-1", time: new Date(2024, 2, 1, 12) };
const ID = "3fa2".repeat(16);

function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

const exists = (path: string) => lstatOrNull(path) !== null;

/** A run over an empty source: the root only. */
function open(opts: MirrorOptions): MirrorRun {
  const run = MirrorRun.open(opts, VALUES, []);
  run.tree.root(undefined, []).done();
  return run;
}

Deno.test("MirrorRun holds the mirror's lock from open() until finish()", async () => {
  const dir = Deno.makeTempDirSync();
  const m = `${dir}/mirror`;
  const run = open({ path: m, purge: true });
  assertEquals(names(m), [MARKER_NAME, MIRROR_LOCK_NAME]);
  assertThrows(() => MirrorRun.open({ path: m, purge: true }, VALUES, []), MirrorRefusedError);
  await run.finish(ID);
  assertEquals(names(m), [MARKER_NAME]);
  // The next run finds the lock free, and does not mirror or purge a lock of its own.
  await open({ path: m, purge: true }).finish(ID);
  assertEquals(names(m), [MARKER_NAME]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("a versioned mirror is locked in the folder holding every version", async () => {
  const dir = Deno.makeTempDirSync();
  const run = open({ path: `${dir}/usb/{job}/{snapshot}`, purge: true, keep: { last: 1 } });
  assertEquals(names(`${dir}/usb/www`).includes(MIRROR_LOCK_NAME), true);
  assertThrows(
    () => MirrorRun.open({ path: `${dir}/usb/{job}/{date}`, purge: true }, VALUES, []),
    MirrorRefusedError,
    `${dir}/usb/www/${MIRROR_LOCK_NAME}`,
  );
  const r = await run.finish(ID);
  assertEquals(r.path, `${dir}/usb/www/3fa23fa2`);
  assertEquals(names(`${dir}/usb/www`), ["3fa23fa2"]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("the lock is released when a run is abandoned, or refused after taking it", () => {
  const dir = Deno.makeTempDirSync();
  const m = `${dir}/mirror`;
  open({ path: m, purge: true }).abandon();
  assertEquals(names(m), [MARKER_NAME]);
  const pending = open({ path: `${dir}/v/{snapshot}`, purge: true });
  pending.abandon();
  assertEquals(names(`${dir}/v`), [], "the pending folder and the lock are gone");

  // Refused by the marker check, which comes after the lock: no lock is left in someone's directory.
  const home = `${dir}/home`;
  Deno.mkdirSync(home);
  Deno.writeTextFileSync(`${home}/thesis.tex`, "years of work\n");
  assertThrows(() => MirrorRun.open({ path: home, purge: true }, VALUES, []), MirrorRefusedError);
  assertEquals(names(home), ["thesis.tex"]);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("the lock is released when finish() fails", async () => {
  const dir = Deno.makeTempDirSync();
  const run = open({ path: `${dir}/v/{snapshot}`, purge: true });
  // Something takes the folder's final name: the rename in finish() fails.
  Deno.mkdirSync(`${dir}/v/3fa23fa2`);
  Deno.writeTextFileSync(`${dir}/v/3fa23fa2/x`, "");
  await assertRejects(() => run.finish(ID));
  assert(!exists(`${dir}/v/${MIRROR_LOCK_NAME}`));
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("requireMount refuses before anything is written", () => {
  const dir = Deno.makeTempDirSync();
  assertThrows(
    () =>
      MirrorRun.open(
        { path: `${dir}/usb/www`, purge: true, requireMount: `${dir}/usb` },
        VALUES,
        [],
      ),
    MirrorRefusedError,
    `Refusing to mirror into ${dir}/usb/www: ${dir}/usb does not exist (is the disk mounted?)`,
  );
  Deno.mkdirSync(`${dir}/usb`);
  assertThrows(
    () =>
      MirrorRun.open(
        { path: `${dir}/usb/{job}/{date}`, purge: true, requireMount: `${dir}/usb` },
        VALUES,
        [],
      ),
    MirrorRefusedError,
    `Refusing to mirror into ${dir}/usb/www: ${dir}/usb is not a mount point (is the disk mounted?)`,
  );
  assertEquals(names(`${dir}/usb`), []);
  Deno.removeSync(dir, { recursive: true });
});
