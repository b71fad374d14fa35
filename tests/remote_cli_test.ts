import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, cairnCommand, lastJson, makeRepo, stopWithin, writeJobFile } from "./_launcher.ts";
import { startServe } from "./_serve.ts";

/** What `cairn serve` keeps of a host's last poll (`reports/{host}.poll.json`). */
interface SavedPoll {
  heartbeat?: {
    received: string;
    poll_seconds: number;
    jobs: { job: string; schedule: string; next_runs: string[] }[];
  };
}

/** The saved poll, or `{}` while none is written. */
async function readPoll(path: string): Promise<SavedPoll> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return {};
  }
}

Deno.test("keygen, sign, serve and agent: remote jobs run, their reports and heartbeats arrive", async () => {
  const { dir, env } = await makeRepo();
  const host = Deno.hostname();
  const src = `${dir}/srv/www`;
  await Deno.mkdir(src, { recursive: true });
  await Deno.writeTextFile(`${src}/index.html`, "<h1>hi</h1>\n");

  const keygen = await cairn(["keygen", "--out", `${dir}/signing`]);
  assertEquals(keygen.code, 0, keygen.stderr);
  const publicKey = keygen.stdout.trim();
  assertMatch(publicKey, /^[A-Za-z0-9+/]{43}=$/);
  assertEquals((await Deno.stat(`${dir}/signing`)).mode! & 0o777, 0o600);
  assertEquals((await Deno.readTextFile(`${dir}/signing.pub`)).trim(), publicKey);
  const again = await cairn(["keygen", "--out", `${dir}/signing`]);
  assertEquals(again.code, 1, "never overwrites a key");
  assertStringIncludes(again.stderr, "file exists");

  const jobsDir = `${dir}/jobs`;
  await Deno.mkdir(jobsDir);
  const server = await startServe(jobsDir);
  try {
    const doc = `${jobsDir}/${host}.toml`;
    const document = (version: number) =>
      [
        `version = ${version}`,
        `expires = ${new Date(Date.now() + 3600_000).toISOString()}`,
        `report_url = "${server.base}/v1/agents/${host}/reports"`,
        "",
        "[[job]]",
        `name = "www"`,
        `repository = "main"`,
        `paths = ["${src}"]`,
        `tags = ["remote"]`,
        `schedule = "@yearly"`,
      ].join("\n") + "\n";
    await Deno.writeTextFile(doc, document(1));
    const sign = await cairn(["sign", doc, "--key", `${dir}/signing`]);
    assertEquals(sign.code, 0, sign.stderr);
    assertEquals(sign.stdout.trim(), `wrote ${doc}.sig`);

    const boot = await writeJobFile(dir, env, [
      "[remote]",
      `url = "${server.base}/v1/agents/{host}/jobs.toml"`,
      `public_key = "${publicKey}"`,
      `poll = "10s"`,
      "[remote.allow]",
      `repositories = ["main"]`,
      `paths = ["${dir}/srv"]`,
    ]);

    const first = await cairn(["agent", "--config", boot, "--once"]);
    assertEquals(first.code, 0, first.stderr);
    assertStringIncludes(first.stderr, "remote jobs: accepted version 1");
    assertStringIncludes(first.stderr, `job "www": report sent`);

    // --once sends a heartbeat after its runs too (a host run from a timer), with the
    // job's schedule and next two planned starts.
    const afterOnce = await readPoll(`${jobsDir}/reports/${host}.poll.json`);
    assertEquals(afterOnce.heartbeat?.poll_seconds, 10);
    const [planned] = afterOnce.heartbeat!.jobs;
    assertEquals([planned.job, planned.schedule, planned.next_runs.length], ["www", "@yearly", 2]);
    assert(Date.parse(planned.next_runs[0]) > Date.now(), planned.next_runs[0]);

    const snaps = lastJson<{ id: string; job: string; tags: string[] }[]>(
      await cairn(["snapshots", "--json"], { env }),
    );
    assertEquals(snaps.map((s) => [s.job, s.tags]), [["www", ["remote"]]]);

    const res = await fetch(`${server.base}/v1/status`);
    const status = await res.json();
    const report = status.hosts[host].www;
    assertEquals([report.result, report.snapshot, report.files], ["success", snaps[0].id, 1]);

    // A changed document without a new signature is rejected; version 1 stays in force
    // (and its job is not due again).
    await Deno.writeTextFile(doc, document(2).replace("@yearly", "* * * * *"));
    const tampered = await cairn(["agent", "--config", boot, "--once"]);
    assertEquals(tampered.code, 0, tampered.stderr);
    assertMatch(tampered.stderr, /rejected: bad signature.*; keeping version 1/);
    assertStringIncludes(tampered.stderr, "ran 0 due job(s)");

    const st = await cairn(["status", "--config", boot, "--json"]);
    assertEquals(st.code, 0, st.stderr);
    const [www] = lastJson<{ job: string; result: string }[]>(st);
    assertEquals([www.job, www.result], ["www", "success"], "remote jobs show in status");

    // The daemon sends a heartbeat soon after it starts: its poll interval and each
    // job's schedule and next two planned starts, which the dashboard shows. Only one
    // received after it started counts (the --once runs above left theirs).
    const started = Date.now();
    const agent = cairnCommand(["agent", "--config", boot]).spawn();
    try {
      let saved: SavedPoll = {};
      for (let i = 0; i < 150; i++) {
        await new Promise((r) => setTimeout(r, 200));
        saved = await readPoll(`${jobsDir}/reports/${host}.poll.json`);
        if (Date.parse(saved.heartbeat?.received ?? "") >= started) break;
      }
      assert(Date.parse(saved.heartbeat?.received ?? "") >= started, "the daemon's heartbeat");
      assertEquals(saved.heartbeat?.poll_seconds, 10);
      const [job] = saved.heartbeat!.jobs;
      assertEquals([job.job, job.schedule, job.next_runs.length], ["www", "@yearly", 2]);
      assert(Date.parse(job.next_runs[0]) > Date.now(), job.next_runs[0]);
      const page = await (await fetch(`${server.base}/host/${host}`)).text();
      assertStringIncludes(page, "<code>@yearly</code>");
      assertStringIncludes(page, "polls every 10 s");
    } finally {
      const stopped = await stopWithin(agent, 60_000);
      await agent.stdout.cancel();
      await agent.stderr.cancel();
      assert(stopped, "the daemon was still running 60 s after SIGTERM");
    }
  } finally {
    const stopped = await server.stop();
    await Deno.remove(dir, { recursive: true });
    assertEquals(stopped.code, 0, stopped.log);
    assert(stopped.log.includes("serve: stopped"), stopped.log);
  }
});

Deno.test("cairn serve refuses a missing jobs directory with exit 2", async () => {
  const r = await cairn(["serve", "--jobs-dir", "/nonexistent/cairn-jobs"]);
  assertEquals(r.code, 2);
  assertStringIncludes(r.stderr, "--jobs-dir /nonexistent/cairn-jobs");
});

Deno.test("cairn serve refuses a non-loopback address without --dashboard-token, in one line", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await cairn(["serve", "--jobs-dir", dir, "--listen", "0.0.0.0:0"]);
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "--listen 0.0.0.0:0: give --dashboard-token FILE");
    assertEquals(
      r.stderr.trim().split("\n").filter((l) => !l.includes("not authenticated")).length,
      1,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("agent --once re-checks a remote job's paths at run time: a link planted after the poll is refused", async () => {
  const { dir, env } = await makeRepo();
  const host = Deno.hostname();
  await Deno.mkdir(`${dir}/srv/site/sub`, { recursive: true });
  await Deno.mkdir(`${dir}/outside/sub`, { recursive: true });
  await Deno.writeTextFile(`${dir}/outside/sub/secret`, "not for the fleet\n");
  await Deno.mkdir(`${dir}/local`);
  await Deno.writeTextFile(`${dir}/local/a`, "a\n");
  const keygen = await cairn(["keygen", "--out", `${dir}/signing`]);
  assertEquals(keygen.code, 0, keygen.stderr);

  const jobsDir = `${dir}/jobs`;
  await Deno.mkdir(jobsDir);
  const server = await startServe(jobsDir);
  try {
    const doc = `${jobsDir}/${host}.toml`;
    await Deno.writeTextFile(
      doc,
      [
        "version = 1",
        `expires = ${new Date(Date.now() + 3600_000).toISOString()}`,
        "[[job]]",
        `name = "www"`,
        `paths = ["${dir}/srv/site/sub"]`,
        `schedule = "@yearly"`,
      ].join("\n") + "\n",
    );
    assertEquals((await cairn(["sign", doc, "--key", `${dir}/signing`])).code, 0);
    // The local job runs first (local jobs come before remote ones) and plants
    // the link after the document was fetched and accepted.
    const boot = await writeJobFile(dir, env, [
      "[[job]]",
      `name = "plant"`,
      `paths = ["${dir}/local"]`,
      `schedule = "@yearly"`,
      `before = ["rm -r '${dir}/srv/site' && ln -s '${dir}/outside' '${dir}/srv/site'"]`,
      "[remote]",
      `url = "${server.base}/v1/agents/{host}/jobs.toml"`,
      `public_key = "${keygen.stdout.trim()}"`,
      "[remote.allow]",
      `repositories = ["main"]`,
      `paths = ["${dir}/srv"]`,
    ]);

    const r = await cairn(["agent", "--config", boot, "--once"]);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "remote jobs: accepted version 1");
    const st = lastJson<{ job: string; result: string; error?: string }[]>(
      await cairn(["status", "--config", boot, "--json"]),
    );
    const www = st.find((s) => s.job === "www")!;
    assertEquals(www.result, "failed");
    assertStringIncludes(
      www.error ?? "",
      `path "${dir}/srv/site/sub" leads to "${await Deno.realPath(dir)}/outside/sub"`,
    );
    const snaps = lastJson<{ job: string }[]>(await cairn(["snapshots", "--json"], { env }));
    assertEquals(snaps.map((s) => s.job), ["plant"], "the remote job backed up nothing");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
