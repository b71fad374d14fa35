/** End-to-end: hostile repositories (crafted, validly encrypted) cannot hang or exhaust the CLI. */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { deepTree, doublingTree, fileNode, hostileRepo } from "../src/testing/hostile_repo.ts";
import { cairn, cairnCommand } from "./_launcher.ts";

/** stderr as lines, without the trailing empty one. */
const lines = (s: string) => s.split("\n").filter((l) => l !== "");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`ls of shared subtrees 40 levels deep exits 130 promptly on ${signal}`, async () => {
    const h = await hostileRepo();
    await h.snapshot(doublingTree(h, 40));
    const child = cairnCommand(["ls", "latest"], { env: h.env }).spawn();
    const reader = child.stdout.getReader();
    let seen = "";
    while (!seen.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    // The first line means the walk is under way and the signal handlers are in place.
    child.kill(signal);
    // Keep draining stdout so the child never blocks on a full pipe.
    while (!(await reader.read()).done) { /* discard */ }
    const [status, stderr] = await Promise.all([
      child.status,
      new Response(child.stderr).text(),
    ]);
    assertEquals(seen.split("\n")[0], "/a");
    assertEquals(status.code, 130, stderr);
    assertEquals(lines(stderr), ["cairn ls: interrupted"]);
    await Deno.remove(h.dir, { recursive: true });
  });
}

Deno.test("ls stops with one line past the entry limit", async () => {
  const h = await hostileRepo();
  await h.snapshot(doublingTree(h, 14)); // 32,766 entries
  const r = await cairn(["ls", "latest"], { env: { ...h.env, CAIRN_MAX_ENTRIES: "1000" } });
  assertEquals(r.code, 1, r.stderr);
  assertEquals(lines(r.stdout).length, 1000);
  assertEquals(lines(r.stderr).length, 1, r.stderr);
  assertStringIncludes(r.stderr, "cairn ls: Stopped after 1000 entries");
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("ls lists a 2,000-level tree", async () => {
  const h = await hostileRepo();
  await h.snapshot(deepTree(h, 2000));
  const r = await cairn(["ls", "latest"], { env: h.env });
  assertEquals(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assertEquals(out.length, 2001);
  assertEquals(out[2000], "/d".repeat(2000) + "/f");
  const json = await cairn(["ls", "latest", "--json"], { env: h.env });
  assertEquals(JSON.parse(json.stdout).length, 2001);
  assertEquals(lines(json.stdout).length, 1); // scripts read the last line
  assert(r.stderr === "", r.stderr);
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("dump and restore of a file whose size its blobs deny fail with one line", async () => {
  const h = await hostileRepo();
  const blob = h.put("data", new TextEncoder().encode("0123456789"));
  await h.snapshot(h.tree([fileNode("short", [blob, blob], 5), fileNode("long", [blob], 99)]));
  for (const name of ["short", "long"]) {
    const r = await cairn(["dump", "latest", `/${name}`], { env: h.env });
    assertEquals(r.code, 1, r.stderr);
    assertEquals(r.stdoutBytes.length, 0);
    const expected = name === "short"
      ? "content is 20 bytes, but the snapshot says 5"
      : "content is 10 bytes, but the snapshot says 99";
    assertEquals(lines(r.stderr).length, 1, r.stderr);
    assertStringIncludes(r.stderr, `cairn dump: /${name} in snapshot `);
    assertStringIncludes(r.stderr, expected);
  }
  const r = await cairn(["restore", "latest", "--target", `${h.dir}/out`], { env: h.env });
  assertEquals(r.code, 1, r.stderr);
  assertEquals(lines(r.stderr), [
    "error: /long: content is 10 bytes, but the snapshot says 99",
    "error: /short: content is 20 bytes, but the snapshot says 5",
  ]);
  assertEquals([...Deno.readDirSync(`${h.dir}/out`)], []);
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("a malformed key file is named in a warning and does not keep the password out", async () => {
  const h = await hostileRepo();
  await h.snapshot(h.tree([]));
  const keys = `${h.dir}/repo/keys`;
  const [good] = [...Deno.readDirSync(keys)].map((e) => e.name);
  const goodJson = JSON.parse(Deno.readTextFileSync(`${keys}/${good}`));
  const bad = "0".repeat(64);
  const huge = "f".repeat(64);
  Deno.writeTextFileSync(`${keys}/${bad}`, "{ not json");
  // The 4 GiB the format documented as allowed; Argon2 could not run it.
  Deno.writeTextFileSync(`${keys}/${huge}`, JSON.stringify({ ...goodJson, memory_kib: 4194304 }));
  const r = await cairn(["snapshots"], { env: h.env });
  assertEquals(r.code, 0, r.stderr);
  const warnings = lines(r.stderr).sort();
  assertEquals(warnings.length, 2, r.stderr);
  assertStringIncludes(warnings[0], `warning: skipped a key file: Key file "${bad}" is malformed`);
  assertStringIncludes(
    warnings[1],
    `warning: skipped a key file: Key file "${huge}" is malformed: KDF parameter memoryKiB=4194304`,
  );
  await Deno.remove(h.dir, { recursive: true });
});

Deno.test("init refuses Argon2 parameters past the bounds with one line, creating nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-hostile-" });
  const env = { CAIRN_REPO: `${dir}/repo`, CAIRN_PASSWORD: "pw" };
  const r = await cairn(["init", "--kdf-memory", "4096"], { env });
  assertEquals(r.code, 2, r.stderr);
  assertEquals(lines(r.stderr).length, 1, r.stderr);
  assertStringIncludes(r.stderr, "KDF parameter memoryKiB=4194304 is outside 8192..524288");
  assertEquals([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir, { recursive: true });
});
