import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo, writeJobFile } from "./_launcher.ts";

interface SnapshotJson {
  id: string;
  job?: string;
  paths: string[];
}

interface Summary {
  files_new: number;
  bytes_read: number;
  bytes_added: number;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

async function snapshots(env: Record<string, string>): Promise<SnapshotJson[]> {
  const r = await cairn(["snapshots", "--json"], { env });
  assertEquals(r.code, 0, r.stderr);
  return lastJson<SnapshotJson[]>(r);
}

Deno.test("backup --stdin stores the stream as one file; dump returns its bytes", async () => {
  const { dir, env } = await makeRepo();
  const data = randomBytes(24 * 1024 * 1024 + 17);
  const r = await cairn(["backup", "--stdin", "--stdin-filename", "db.sql", "--json"], {
    env,
    stdin: data,
  });
  assertEquals(r.code, 0, r.stderr);
  const s = lastJson<Summary>(r);
  assertEquals([s.files_new, s.bytes_read], [1, data.length]);
  assert(s.bytes_added > data.length, "random bytes do not compress");
  assertEquals((await snapshots(env)).map((x) => x.paths), [["/db.sql"]]);
  const ls = await cairn(["ls", "latest"], { env });
  assertEquals(ls.stdout.trim(), "/db.sql");
  const dump = await cairn(["dump", "latest", "/db.sql"], { env });
  assertEquals(dump.code, 0, dump.stderr);
  assertEquals(dump.stdoutBytes, data);

  // The same stream again, with 100 bytes changed in the middle: only the
  // chunks around the change are new.
  data.set(crypto.getRandomValues(new Uint8Array(100)), 12_000_000);
  const again = lastJson<Summary>(
    await cairn(["backup", "--stdin", "--stdin-filename", "db.sql", "--json"], {
      env,
      stdin: data,
    }),
  );
  assert(again.bytes_added < s.bytes_added / 3, `second stream added ${again.bytes_added} bytes`);
  assertEquals((await cairn(["dump", "latest", "/db.sql"], { env })).stdoutBytes, data);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("backup --stdin-from-command stores the command's stdout, default name /stdin", async () => {
  const { dir, env } = await makeRepo();
  const r = await cairn(
    ["backup", "--stdin-from-command", "--", "sh", "-c", "printf 'line %s\\n' 1 2 3"],
    { env },
  );
  assertEquals(r.code, 0, r.stderr);
  const dump = await cairn(["dump", "latest", "/stdin"], { env });
  assertEquals(dump.stdout, "line 1\nline 2\nline 3\n");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a command that fails leaves no snapshot; its exit code and stderr tail are reported", async () => {
  const { dir, env } = await makeRepo();
  const script = "head -c 2000000 /dev/zero; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do " +
    'echo "complaint $i" >&2; done; exit 7';
  const r = await cairn(
    ["backup", "--stdin-from-command", "--stdin-filename", "dump.sql", "--", "sh", "-c", script],
    { env },
  );
  assertEquals(r.code, 1, r.stderr);
  assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  assertStringIncludes(r.stderr, "command sh exited with code 7, so no snapshot was written");
  assertStringIncludes(r.stderr, "complaint 12");
  assert(r.stderr.includes("complaint 3 |"), "the last ten lines are quoted");
  assert(!r.stderr.includes("complaint 2 |"), "only the last ten lines are quoted");
  assertEquals(await snapshots(env), []);

  const killed = await cairn(["backup", "--stdin-from-command", "--", "sh", "-c", "kill -9 $$"], {
    env,
  });
  assertEquals(killed.code, 1);
  assertStringIncludes(killed.stderr, "was killed by SIGKILL");
  const missing = await cairn(["backup", "--stdin-from-command", "--", "/no/such/program"], {
    env,
  });
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "cannot run /no/such/program");
  assertEquals(await snapshots(env), []);
  // The data blobs of the failed run are indexed, and the repository is sound.
  const check = await cairn(["check"], { env });
  assertEquals(check.code, 0, check.stderr + check.stdout);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("stream flags are checked with one clear line", async () => {
  const { dir, env } = await makeRepo();
  const cases: [string[], string][] = [
    [["backup", "--stdin-from-command"], "needs a command after --"],
    [["backup", "--stdin", "/etc"], "--stdin takes no PATH"],
    [["backup", "--stdin", "--stdin-filename", "a/b"], "must be one path element"],
    [["backup", "--stdin", "--stdin-from-command", "--", "true"], "exclude each other"],
    [["backup", "/etc", "--stdin-filename", "x"], "--stdin-filename needs --stdin"],
    [["backup", "--stdin", "--mirror", "/tmp/x"], "--mirror does not apply"],
    [["backup", "--stdin", "--read-special"], "--read-special does not apply"],
  ];
  for (const [args, message] of cases) {
    const r = await cairn(args, { env, stdin: new Uint8Array(0) });
    assertEquals(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assertStringIncludes(r.stderr, message);
  }
  assertEquals(await snapshots(env), []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a job with command = [...] backs up its output; a failing one records a failure", async () => {
  const { dir, env } = await makeRepo();
  const config = await writeJobFile(dir, env, [
    "[[job]]",
    `name = "db"`,
    `command = ["sh", "-c", "echo dumped"]`,
    `command_filename = "db.sql"`,
    "[[job]]",
    `name = "broken"`,
    `command = ["sh", "-c", "echo half; echo 'pg_dump: no such db' >&2; exit 1"]`,
  ]);
  const ok = await cairn(["run", "--config", config, "db"]);
  assertEquals(ok.code, 0, ok.stderr);
  const snaps = await snapshots(env);
  assertEquals(snaps.map((s) => [s.job, s.paths]), [["db", ["/db.sql"]]]);
  assertEquals((await cairn(["dump", "latest", "/db.sql"], { env })).stdout, "dumped\n");

  const bad = await cairn(["run", "--config", config, "broken"]);
  assertEquals(bad.code, 1, bad.stderr);
  assertStringIncludes(bad.stdout, "exited with code 1, so no snapshot was written");
  assertStringIncludes(bad.stdout, "pg_dump: no such db");
  assertEquals((await snapshots(env)).length, 1);

  await Deno.writeTextFile(
    config,
    [
      `state_dir = "${dir}/state"`,
      "[repository.main]",
      `path = "${env.CAIRN_REPO}"`,
      "[[job]]",
      `name = "both"`,
      `paths = ["/etc"]`,
      `command = ["true"]`,
    ].join("\n"),
  );
  const both = await cairn(["run", "--config", config]);
  assertEquals(both.code, 2, both.stderr);
  assertStringIncludes(both.stderr, `either "paths" or a "command"`);
  await Deno.remove(dir, { recursive: true });
});
