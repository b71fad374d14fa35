import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";
import { serveFleet, UnsafeListenError } from "./serve.ts";

async function withServer(
  opts: { token?: string },
  fn: (origin: string, dir: string) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "cairn-pages-" });
  if (opts.token) await Deno.writeTextFile(`${dir}/page-token`, opts.token + "\n");
  const ac = new AbortController();
  const server = await serveFleet({
    jobsDir: dir,
    listen: { hostname: "127.0.0.1", port: 0 },
    dashboardTokenFile: opts.token ? `${dir}/page-token` : undefined,
    signal: ac.signal,
    log: () => {},
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, dir);
  } finally {
    ac.abort();
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("serveFleet() refuses a non-loopback address without a dashboard token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => serveFleet({ jobsDir: dir, listen: { hostname: "0.0.0.0", port: 0 }, log: () => {} }),
      UnsafeListenError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the pages need the dashboard token (Basic or Bearer) and are read-only", async () => {
  await withServer({ token: "s3cret" }, async (origin) => {
    for (const path of ["/", "/metrics", "/v1/status", "/host/web1"]) {
      const res = await fetch(origin + path);
      await res.body?.cancel();
      assertEquals(res.status, 401, path);
    }
    const wrong = await fetch(origin + "/", { headers: { authorization: "Bearer nope" } });
    await wrong.body?.cancel();
    assertEquals(wrong.status, 401);
    const basic = await fetch(origin + "/", {
      headers: { authorization: `Basic ${btoa("admin:s3cret")}` },
    });
    assertEquals(basic.status, 200);
    assert((await basic.text()).includes("cairn fleet"));
    const bearer = await fetch(origin + "/metrics", {
      headers: { authorization: "Bearer s3cret" },
    });
    assertEquals(bearer.status, 200);
    assert((await bearer.text()).includes("# TYPE cairn_host_stale gauge"));
    const post = await fetch(origin + "/", {
      method: "POST",
      headers: { authorization: "Bearer s3cret" },
    });
    await post.body?.cancel();
    assertEquals(post.status, 405);
    const head = await fetch(origin + "/", {
      method: "HEAD",
      headers: { authorization: "Bearer s3cret" },
    });
    assertEquals([head.status, await head.text()], [200, ""]);
  });
});

Deno.test("every response carries the security headers; the CSP allows no script", async () => {
  await withServer({}, async (origin) => {
    const res = await fetch(origin + "/");
    await res.body?.cancel();
    const csp = res.headers.get("content-security-policy") ?? "";
    assert(csp.includes("default-src 'none'") && !csp.includes("script-src"), csp);
    assert(csp.includes("frame-ancestors 'none'"), csp);
    assertEquals(res.headers.get("x-content-type-options"), "nosniff");
    assertEquals(res.headers.get("x-frame-options"), "DENY");
    assertEquals(res.headers.get("referrer-policy"), "no-referrer");
  });
});

Deno.test("heartbeats are validated, shown on the host page and saved in DIR/reports", async () => {
  await withServer({}, async (origin, dir) => {
    const url = `${origin}/v1/agents/web1/heartbeat`;
    const bad = await fetch(url, {
      method: "POST",
      body: JSON.stringify({ host: "web1", jobs: 3 }),
    });
    assertEquals([bad.status, await bad.text()], [
      400,
      "heartbeat.jobs must be a list of at most 1000 jobs\n",
    ]);
    const hb = {
      host: "web1",
      poll_seconds: 300,
      running: null,
      jobs: [{ job: "home", schedule: "0 3 * * *", next_runs: ["2030-01-01T03:00:00Z"] }],
    };
    const ok = await fetch(url, { method: "POST", body: JSON.stringify(hb) });
    await ok.body?.cancel();
    assertEquals(ok.status, 201);
    const page = await (await fetch(`${origin}/host/web1`)).text();
    assert(page.includes("<code>0 3 * * *</code>"), page);
    assert(page.includes("polls every 5 min"), page);
    const saved = JSON.parse(await Deno.readTextFile(`${dir}/reports/web1.poll.json`));
    assertEquals(saved.heartbeat.jobs, hb.jobs);
    const missing = await fetch(`${origin}/host/nobody`);
    await missing.body?.cancel();
    assertEquals(missing.status, 404);
  });
});
