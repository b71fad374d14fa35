import { assert, assertEquals } from "../testing/asserts.ts";
import { HeartbeatSender, heartbeatUrl } from "./heartbeat_sender.ts";
import { serveFleet } from "./serve.ts";
import { silentEndpoint } from "./_testkit.ts";

Deno.test("heartbeatUrl() sits beside jobs.toml, and there is none for other layouts", () => {
  assertEquals(
    heartbeatUrl("https://fleet.example/v1/agents/web1/jobs.toml?x=1"),
    "https://fleet.example/v1/agents/web1/heartbeat",
  );
  assertEquals(heartbeatUrl("https://fleet.example/web1.toml"), undefined);
});

Deno.test("HeartbeatSender delivers to cairn serve, and logs a failing endpoint once", async () => {
  const dir = await Deno.makeTempDir();
  const ac = new AbortController();
  const server = await serveFleet({
    jobsDir: dir,
    listen: { hostname: "127.0.0.1", port: 0 },
    signal: ac.signal,
    log: () => {},
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const lines: string[] = [];
  const good = await HeartbeatSender.open({
    jobsUrl: `${base}/v1/agents/web1/jobs.toml`,
    log: (l) => lines.push(l),
  });
  const bad = await HeartbeatSender.open({
    jobsUrl: `${base}/v1/agents/.bad/jobs.toml`,
    log: (l) => lines.push(l),
  });
  try {
    const hb = {
      host: "web1",
      poll_seconds: 60,
      running: null,
      jobs: [{ job: "home", schedule: "@daily", next_runs: ["2030-01-01T00:00:00Z"] }],
    };
    assert(await good.send(hb));
    const saved = JSON.parse(await Deno.readTextFile(`${dir}/reports/web1.poll.json`));
    assertEquals(saved.heartbeat.poll_seconds, 60);
    assertEquals(await bad.send({ ...hb, host: ".bad" }), false);
    assertEquals(await bad.send({ ...hb, host: ".bad" }), false);
    assertEquals(lines.length, 1);
    assert(lines[0].includes("HTTP 400"), lines[0]);
  } finally {
    good.close();
    bad.close();
    ac.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HeartbeatSender gives up on an endpoint that never answers after its time limit", async () => {
  await using silent = silentEndpoint();
  const lines: string[] = [];
  const sender = await HeartbeatSender.open({
    jobsUrl: `${silent.origin}/v1/agents/web1/jobs.toml`,
    timeoutMs: 300,
    log: (l) => lines.push(l),
  });
  try {
    const start = Date.now();
    const sent = await sender.send({ host: "web1", poll_seconds: 60, running: null, jobs: [] });
    assertEquals(sent, false);
    assertEquals(silent.accepted(), 1, "the request reached the endpoint");
    assert(Date.now() - start < 10_000, "it gave up in its time limit");
    assert(lines[0]?.includes("timed out"), lines.join("\n"));
  } finally {
    sender.close();
  }
});
