/**
 * A repository's scheduled maintenance end to end: `[repository.main.prune]`
 * and `[repository.main.check]` run by `cairn agent --once` as jobs, recorded
 * for `cairn status`, due again only on their schedules; a check that finds
 * damage fails the run (exit 1) with one line naming the damaged pack.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, randomBytes, writeJobFile } from "./_launcher.ts";

/** The pack files of a local repository and their total size. */
async function dataBytes(repo: string): Promise<{ bytes: number; files: string[] }> {
  let bytes = 0;
  const files: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const path = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(path);
      else {
        bytes += (await Deno.stat(path)).size;
        files.push(path);
      }
    }
  };
  await walk(`${repo}/data`);
  return { bytes, files };
}

Deno.test("agent --once runs a repository's scheduled prune and check; a damaged pack fails the check", async () => {
  const { dir, env } = await makeRepo();
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(src);
    await Deno.writeFile(`${src}/old.bin`, randomBytes(300_000));
    const first = await cairn(["backup", src, "--json"], { env });
    assertEquals(first.code, 0, first.stderr);
    await Deno.remove(`${src}/old.bin`);
    await Deno.writeFile(`${src}/new.bin`, randomBytes(100_000));
    assertEquals((await cairn(["backup", src], { env })).code, 0);
    const old = lastJson<{ snapshot: string }>(first).snapshot;
    assertEquals((await cairn(["forget", old], { env })).code, 0);
    const before = await dataBytes(env.CAIRN_REPO);

    const config = await writeJobFile(dir, env, [
      "[repository.main.prune]",
      `schedule = "@daily"`,
      `grace = "0"`,
      "[repository.main.check]",
      `schedule = "@daily"`,
      `read_data_subset = "100%"`,
    ]);
    const agent = await cairn(["agent", "--config", config, "--once"]);
    assertEquals(agent.code, 0, agent.stderr);
    assertMatch(agent.stderr, /job "main\.prune": prune: .* freed/);
    assertMatch(
      agent.stderr,
      /job "main\.check": check: 1 snapshot\(s\), .* blob\(s\) read .*: 0 error\(s\)/,
    );
    assertStringIncludes(agent.stderr, "ran 2 due job(s)");
    const after = await dataBytes(env.CAIRN_REPO);
    assert(
      after.bytes <= before.bytes - 300_000,
      `the forgotten 300 kB are freed: ${before.bytes} -> ${after.bytes}`,
    );

    const status = await cairn(["status", "--config", config, "--json"]);
    assertEquals(status.code, 0, status.stderr);
    const rows = lastJson<{ job: string; result?: string; schedule: string | null }[]>(status);
    assertEquals(rows.map((r) => [r.job, r.result, r.schedule]), [
      ["main.prune", "success", "@daily"],
      ["main.check", "success", "@daily"],
    ]);

    // Both ran today: nothing is due until tomorrow.
    const again = await cairn(["agent", "--config", config, "--once"]);
    assertEquals(again.code, 0, again.stderr);
    assertStringIncludes(again.stderr, 'nothing was due; next: job "main.prune"');

    // `cairn run` with no names runs only backup jobs; a task runs when named.
    const none = await cairn(["run", "--config", config]);
    assertEquals(none.code, 0, none.stderr);
    assertEquals(none.stdout, "");

    // Damage the data pack (the largest): the check run fails naming it, and status says so.
    const sizes = await Promise.all(after.files.map(async (f) => (await Deno.stat(f)).size));
    const pack = after.files[sizes.indexOf(Math.max(...sizes))];
    const bytes = await Deno.readFile(pack);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await Deno.chmod(pack, 0o600);
    await Deno.writeFile(pack, bytes);
    const check = await cairn(["run", "--config", config, "main.check"]);
    assertEquals(check.code, 1, check.stderr);
    const name = pack.split("/").pop()!;
    assertMatch(
      check.stdout,
      new RegExp(
        `^job "main\\.check": failed: check found \\d+ error\\(s\\), first pack ${name}: `,
        "m",
      ),
    );
    assertEquals(check.stdout.trim().split("\n").length, 1, check.stdout);
    const failed = await cairn(["status", "--config", config]);
    assertEquals(failed.code, 1, failed.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a job file with a bad maintenance table exits 2 naming the key", async () => {
  const { dir, env } = await makeRepo();
  try {
    const config = await writeJobFile(dir, env, [
      "[repository.main.check]",
      `schedule = "@daily"`,
      `read_data_subset = "most"`,
    ]);
    const r = await cairn(["agent", "--config", config, "--once"]);
    assertEquals(r.code, 2, r.stderr);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    assertMatch(r.stderr, /cairn\.toml:\d+.*check\.read_data_subset.*"most"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
