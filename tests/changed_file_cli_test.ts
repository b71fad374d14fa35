/**
 * A file rewritten while a worker thread reads it: read again, and if it
 * changes during that read too, stored as read with a warning naming it and
 * the snapshot marked incomplete (exit 3). The change is made by the
 * test-only hook CAIRN_TEST_CHANGE_DURING_READ (src/archiver/_worker.ts),
 * which appends a byte from inside the worker's read loop.
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";

interface Summary {
  complete: boolean;
  files_new: number;
}

async function source(): Promise<string> {
  const src = await Deno.makeTempDir({ prefix: "cairn-changed-" });
  await Deno.writeTextFile(`${src}/busy.log`, "x".repeat(4200));
  await Deno.writeTextFile(`${src}/quiet.txt`, "unchanged\n");
  return src;
}

async function restoredFile(env: Record<string, string>, dir: string, path: string) {
  const out = `${dir}/out`;
  const r = await cairn(["restore", "latest", "--target", out], { env });
  assertEquals(r.code, 0, r.stderr);
  return Deno.readFileSync(`${out}${path}`);
}

Deno.test("a file changed during one read is read again: exit 0, the restore holds its new bytes", async () => {
  const { dir, env } = await makeRepo();
  const src = await source();
  const r = await cairn(["backup", src, "--json", "--workers", "2"], {
    env: { ...env, CAIRN_TEST_CHANGE_DURING_READ: "busy.log:1" },
  });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(lastJson<Summary>(r).complete, true);
  const now = Deno.readFileSync(`${src}/busy.log`);
  assertEquals(now.length, 4201, "the hook changed the file once");
  assertEquals(await restoredFile(env, dir, `${src}/busy.log`), now);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});

Deno.test("a file changed during both reads is stored with a warning and the backup exits 3", async () => {
  const { dir, env } = await makeRepo();
  const src = await source();
  const r = await cairn(["backup", src, "--json", "--workers", "2"], {
    env: { ...env, CAIRN_TEST_CHANGE_DURING_READ: "busy.log" },
  });
  assertEquals(r.code, 3, r.stderr);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 1, r.stderr);
  assertStringIncludes(lines[0], `${src}/busy.log`);
  assertStringIncludes(lines[0], "changed while it was read");
  const summary = lastJson<Summary>(r);
  assertEquals([summary.complete, summary.files_new], [false, 2], "both files are stored");
  const snaps = JSON.parse((await cairn(["snapshots", "--json"], { env })).stdout);
  assertEquals(snaps[0].incomplete, true);
  const restored = await restoredFile(env, dir, `${src}/busy.log`);
  assert(restored.length >= 4200, `${restored.length} bytes restored`);
  assertEquals(
    Deno.readFileSync(`${dir}/out${src}/quiet.txt`),
    Deno.readFileSync(`${src}/quiet.txt`),
  );
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(src, { recursive: true });
});
