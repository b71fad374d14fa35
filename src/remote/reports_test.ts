import assert from "node:assert/strict";
import { ReportQueue, type ReportQueueOptions } from "./reports.ts";
import type { RunReport } from "./report.ts";
import { serveFleet } from "./serve.ts";
import { silentEndpoint } from "./_testkit.ts";

const report = (job: string, result: RunReport["result"] = "success"): RunReport => ({
  host: "web1",
  job,
  start: "2025-01-01T02:00:00Z",
  end: "2025-01-01T02:05:00Z",
  result,
  snapshot: result === "failed" ? null : "3fa2b1c4",
  files: 120,
  bytes: 4096,
  error: result === "failed" ? "repository locked" : null,
});

/**
 * The queue talks to a front server on an OS-chosen port that stays bound
 * for the whole test: while the endpoint is "down" it answers 503 (a retry,
 * like a refused connection), and once `start()` runs it passes requests to
 * a real serveFleet() on a port of its own. No port is picked, let go and
 * bound again, which another test running in parallel could take meanwhile.
 */
async function setup(extra: Partial<ReportQueueOptions> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "cairn-reports-" });
  await Deno.mkdir(`${dir}/jobs`);
  await Deno.writeTextFile(`${dir}/tokens`, "web1 s3cret\n");
  await Deno.writeTextFile(`${dir}/token`, "s3cret\n");
  let backend: string | undefined;
  const frontAbort = new AbortController();
  const listening = Promise.withResolvers<Deno.NetAddr>();
  const front = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: frontAbort.signal,
    onListen: (a) => listening.resolve(a as Deno.NetAddr),
  }, async (req) => {
    if (!backend) return new Response("down", { status: 503 });
    const url = new URL(req.url);
    const res = await fetch(`${backend}${url.pathname}${url.search}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
  const origin = `http://127.0.0.1:${(await listening.promise).port}`;
  const logs: string[] = [];
  const queue = await ReportQueue.open({
    dir: `${dir}/queue`,
    token: { file: `${dir}/token`, origin },
    timeoutMs: 1000,
    minBackoffMs: 60_000,
    log: (l) => logs.push(l),
    ...extra,
  });
  const start = async () => {
    const ac = new AbortController();
    const server = await serveFleet({
      jobsDir: `${dir}/jobs`,
      listen: { hostname: "127.0.0.1", port: 0 },
      tokensFile: `${dir}/tokens`,
      signal: ac.signal,
      log: () => {},
    });
    backend = `http://127.0.0.1:${server.addr.port}`;
    return {
      stop: async () => {
        backend = undefined;
        ac.abort();
        await server.finished;
      },
    };
  };
  return {
    dir,
    queue,
    logs,
    start,
    url: `${origin}/v1/agents/web1/reports`,
    status: async () => (await (await fetch(`${origin}/v1/status`)).json()).hosts,
    [Symbol.asyncDispose]: async () => {
      queue.close();
      frontAbort.abort();
      await front.finished;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("ReportQueue.send() delivers a report with the bearer token", async () => {
  await using t = await setup();
  const server = await t.start();
  try {
    assert.equal(await t.queue.send(t.url, report("www")), "sent");
    assert.equal(await t.queue.pending(), 0);
    const status = await t.status();
    assert.equal(status.web1.www.result, "success");
    assert.equal(status.web1.www.files, 120);
  } finally {
    await server.stop();
  }
});

Deno.test("ReportQueue delivers queued reports in order after the endpoint returns", async () => {
  await using t = await setup();
  assert.equal(await t.queue.send(t.url, report("www", "failed")), "queued");
  assert.equal(await t.queue.send(t.url, report("www")), "queued");
  assert.equal(await t.queue.pending(), 2);
  assert.match(t.logs[0], /cannot deliver report for job "www" .*; will retry$/);

  const server = await t.start();
  try {
    // Still backing off: nothing is attempted until the delay passes or is forced.
    assert.equal((await t.queue.flush()).deferred, true);
    const r = await t.queue.flush({ force: true });
    assert.deepEqual(r, { sent: 2, dropped: 0, remaining: 0, deferred: false });
    const lines = (await Deno.readTextFile(`${t.dir}/jobs/reports/web1.jsonl`)).trim().split("\n");
    assert.deepEqual(lines.map((l) => JSON.parse(l).result), ["failed", "success"]);
    assert.equal((await t.status()).web1.www.result, "success");
  } finally {
    await server.stop();
  }
});

Deno.test("ReportQueue keeps at most maxQueued reports, dropping the oldest", async () => {
  await using t = await setup({ maxQueued: 3 });
  for (const job of ["a", "b", "c", "d", "e"]) await t.queue.send(t.url, report(job));
  assert.equal(await t.queue.pending(), 3);
  assert.equal(t.logs.filter((l) => l.includes("queue full (3)")).length, 2);

  const server = await t.start();
  try {
    await t.queue.flush({ force: true });
    assert.deepEqual(Object.keys(await t.status()).length, 1);
    assert.deepEqual(Object.keys((await t.status()).web1), ["c", "d", "e"]);
  } finally {
    await server.stop();
  }
});

Deno.test("ReportQueue drops reports older than maxAgeMs", async () => {
  let now = Date.parse("2025-01-01T00:00:00Z");
  await using t = await setup({ maxAgeMs: 3600_000, now: () => new Date(now) });
  await t.queue.send(t.url, report("www"));
  now += 2 * 3600_000;
  const r = await t.queue.flush({ force: true });
  assert.deepEqual(r, { sent: 0, dropped: 1, remaining: 0, deferred: false });
  assert.match(t.logs.at(-1)!, /too old$/);
});

Deno.test("ReportQueue sends the token only to its own origin and drops refused reports", async () => {
  const seen: (string | null)[] = [];
  const ac = new AbortController();
  const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: (a) => resolve(a as Deno.NetAddr),
  }, (req) => {
    seen.push(req.headers.get("authorization"));
    return new Response("no", { status: 400 });
  });
  try {
    await using t = await setup();
    const other = `http://127.0.0.1:${(await promise).port}/r`;
    assert.equal(await t.queue.send(other, report("www")), "dropped");
    assert.deepEqual(seen, [null]);
    assert.equal(await t.queue.pending(), 0);
    assert.match(t.logs[0], /dropping report .*: refused with HTTP 400$/);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("ReportQueue.send() drops a report for an insecure URL without sending it", async () => {
  await using t = await setup();
  assert.equal(await t.queue.send("http://ctl.example/r", report("www")), "dropped");
  assert.equal(await t.queue.pending(), 0);
  assert.match(t.logs[0], /must be https/);
});

Deno.test("ReportQueue.send() queues a report when the endpoint never answers, after its time limit", async () => {
  await using silent = silentEndpoint();
  const dir = await Deno.makeTempDir({ prefix: "cairn-reports-" });
  const queue = await ReportQueue.open({ dir, timeoutMs: 300, log: () => {} });
  try {
    const start = Date.now();
    assert.equal(
      await queue.send(`${silent.origin}/v1/agents/web1/reports`, report("db")),
      "queued",
    );
    assert.equal(silent.accepted(), 1, "the request reached the endpoint");
    assert.ok(Date.now() - start < 10_000, "it gave up in its time limit");
  } finally {
    queue.close();
    await Deno.remove(dir, { recursive: true });
  }
});
