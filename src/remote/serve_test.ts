import assert from "node:assert/strict";
import { loadTokens, serveFleet } from "./serve.ts";

async function withFleet(
  options: { tokens?: string; maxReportBytes?: number },
  fn: (origin: string, dir: string) => Promise<void>,
) {
  // The jobs directory sits in a directory of its own, so a path that left it
  // would land in a place this test owns.
  const parent = await Deno.makeTempDir({ prefix: "cairn-serve-" });
  const dir = `${parent}/jobs`;
  await Deno.mkdir(dir);
  await Deno.writeTextFile(`${dir}/web1.toml`, "version = 1\n");
  await Deno.writeTextFile(`${dir}/web1.toml.sig`, "cairn-signature-v1 ed25519\nAAAA\n");
  await Deno.writeTextFile(`${dir}/secret`, "do not serve");
  if (options.tokens) await Deno.writeTextFile(`${dir}/tokens`, options.tokens);
  const run = async () => {
    const ac = new AbortController();
    const server = await serveFleet({
      jobsDir: dir,
      listen: { hostname: "127.0.0.1", port: 0 },
      tokensFile: options.tokens ? `${dir}/tokens` : undefined,
      maxReportBytes: options.maxReportBytes,
      signal: ac.signal,
      log: () => {},
    });
    return { origin: `http://127.0.0.1:${server.addr.port}`, ac, server };
  };
  let s = await run();
  try {
    await fn(s.origin, dir);
    // Restart to check that state is rebuilt from the report log.
    s.ac.abort();
    await s.server.finished;
    s = await run();
    await fn(s.origin, dir);
  } finally {
    s.ac.abort();
    await s.server.finished;
    await Deno.remove(parent, { recursive: true });
  }
}

const report = {
  host: "web1",
  job: "www",
  start: "2025-01-01T02:00:00Z",
  end: "2025-01-01T02:05:00Z",
  result: "success",
  snapshot: "3fa2b1c4",
  files: 10,
  bytes: 2048,
  error: null,
};

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, etag: res.headers.get("etag"), body: await res.text() };
}

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: "POST", body, headers });
  return { status: res.status, body: await res.text() };
}

Deno.test("serveFleet() serves a host's document and signature with an ETag and 304", async () => {
  await withFleet({}, async (origin) => {
    const doc = await get(`${origin}/v1/agents/web1/jobs.toml`);
    assert.equal(doc.status, 200);
    assert.equal(doc.body, "version = 1\n");
    assert.match(doc.etag!, /^"[0-9a-f]{64}"$/);
    const again = await get(`${origin}/v1/agents/web1/jobs.toml`, { "if-none-match": doc.etag! });
    assert.equal(again.status, 304);
    assert.equal(again.etag, doc.etag);
    const weak = await get(`${origin}/v1/agents/web1/jobs.toml`, {
      "if-none-match": `"x", W/${doc.etag}`,
    });
    assert.equal(weak.status, 304);
    const sig = await get(`${origin}/v1/agents/web1/jobs.toml.sig`);
    assert.match(sig.body, /^cairn-signature-v1 ed25519\n/);
    assert.equal((await get(`${origin}/v1/agents/web2/jobs.toml`)).status, 404);
  });
});

/** Sends one request with `path` exactly as given (fetch() would normalise it first). */
async function rawGet(origin: string, path: string) {
  const { hostname, port } = new URL(origin);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`),
    );
    const chunks: Uint8Array[] = [];
    for await (const c of conn.readable) chunks.push(c);
    const res = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    const status = Number(res.split(" ")[1]);
    return { status, body: res.slice(res.indexOf("\r\n\r\n") + 4) };
  } catch (err) {
    conn.close();
    throw err;
  }
}

Deno.test("serveFleet() refuses host names that could leave the jobs directory", async () => {
  await withFleet({}, async (origin, dir) => {
    // Bait where each name would land, whether the server took it literally
    // or decoded it: without the host check these would be served.
    const baits = {
      "..%2Fsecret": [`${dir}/..%2Fsecret.toml`, `${dir}/../secret.toml`],
      ".hidden": [`${dir}/.hidden.toml`],
      "a%00b": [`${dir}/a%00b.toml`],
      "web%201": [`${dir}/web%201.toml`, `${dir}/web 1.toml`],
      "%2e%2e%2fsecret": [`${dir}/%2e%2e%2fsecret.toml`],
    };
    for (const paths of Object.values(baits)) {
      for (const p of paths) await Deno.writeTextFile(p, "do not serve");
    }
    for (const host of Object.keys(baits)) {
      for (const send of [get, (url: string) => rawGet(origin, new URL(url).pathname)]) {
        const r = await send(`${origin}/v1/agents/${host}/jobs.toml`);
        assert.deepEqual([r.status, r.body], [400, "invalid host name\n"], host);
      }
    }
    // Dot segments are resolved before routing, so they never name a host.
    for (const path of ["/v1/agents/../secret", "/v1/agents/%2e%2e/jobs.toml"]) {
      const r = await rawGet(origin, path);
      assert.deepEqual([r.status, r.body], [404, "not found\n"], path);
    }
    for (const paths of Object.values(baits)) for (const p of paths) await Deno.remove(p);
  });
});

Deno.test("serveFleet() with a tokens file requires each host's own token", async () => {
  await withFleet({ tokens: "# fleet\nweb1 tok-1\nweb2 tok-2\n" }, async (origin) => {
    const url = `${origin}/v1/agents/web1/jobs.toml`;
    assert.equal((await get(url)).status, 401);
    assert.equal((await get(url, { authorization: "Bearer tok-2" })).status, 401);
    assert.equal((await get(url, { authorization: "Bearer tok-1x" })).status, 401);
    assert.equal((await get(url, { authorization: "Bearer tok-1" })).status, 200);
    const reports = `${origin}/v1/agents/web1/reports`;
    assert.equal((await post(reports, JSON.stringify(report))).status, 401);
    const ok = await post(reports, JSON.stringify(report), { authorization: "Bearer tok-1" });
    assert.equal(ok.status, 201);
  });
});

Deno.test("serveFleet() stores valid reports and shows the last one per job in /v1/status", async () => {
  let round = 0;
  await withFleet({}, async (origin, dir) => {
    const url = `${origin}/v1/agents/web1/reports`;
    if (round++ === 0) {
      // An agent from before the one word sends "failure": taken, and stored as "failed".
      assert.equal((await post(url, JSON.stringify({ ...report, result: "failure" }))).status, 201);
      assert.equal((await post(url, JSON.stringify({ ...report, extra: "x" }))).status, 201);
    }
    // After the restart, the state comes back from DIR/reports/web1.jsonl.
    const status = await (await fetch(`${origin}/v1/status`)).json();
    assert.deepEqual(Object.keys(status.hosts), ["web1"]);
    const last = status.hosts.web1.www;
    assert.equal(last.result, "success");
    assert.equal(last.extra, undefined);
    assert.ok(Date.parse(last.received) > 0);
    const lines = (await Deno.readTextFile(`${dir}/reports/web1.jsonl`)).trim().split("\n");
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[0]).result, "failed");
  });
});

Deno.test("serveFleet() rejects invalid, mismatched and oversized reports", async () => {
  await withFleet({ maxReportBytes: 1024 }, async (origin) => {
    const url = `${origin}/v1/agents/web1/reports`;
    assert.equal((await post(url, "{not json")).status, 400);
    const bad = await post(url, JSON.stringify({ ...report, files: -1 }));
    assert.deepEqual(bad, { status: 400, body: "report.files must be a non-negative integer\n" });
    const other = await post(url, JSON.stringify({ ...report, host: "web2" }));
    assert.equal(other.status, 400);
    const big = await post(url, JSON.stringify({ ...report, error: "x".repeat(2000) }));
    assert.equal(big.status, 413);
    assert.equal((await get(url)).status, 405);
  });
});

Deno.test("loadTokens() names the line of a malformed tokens file", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, "web1 a\nweb2\n");
    await assert.rejects(loadTokens(path), /line 2: expected "host token"/);
  } finally {
    await Deno.remove(path);
  }
});

// ---- slow clients: a raw TCP socket on loopback ----

async function limitedServer(limits: Parameters<typeof serveFleet>[0]["limits"]) {
  const dir = await Deno.makeTempDir({ prefix: "cairn-serve-" });
  const ac = new AbortController();
  const logs: string[] = [];
  const server = await serveFleet({
    jobsDir: dir,
    listen: { hostname: "127.0.0.1", port: 0 },
    limits,
    signal: ac.signal,
    log: (l) => logs.push(l),
  });
  return {
    port: server.addr.port,
    logs,
    async [Symbol.asyncDispose]() {
      ac.abort();
      await server.finished;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Sends `first`, then one byte of `drip` after another (the pacing is the
 * client's, nothing is asserted on it) until the server closes the
 * connection; returns what the server sent. Fails if it is still open after
 * `guardMs`, many times the limit under test.
 */
async function dribble(port: number, first: string, drip: string, guardMs = 10_000) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const enc = new TextEncoder();
  let closed = false;
  const writing = (async () => {
    try {
      await conn.write(enc.encode(first));
      for (let i = 0; !closed; i = (i + 1) % drip.length) {
        await conn.write(enc.encode(drip[i]));
        await new Promise((r) => setTimeout(r, 20));
      }
    } catch {
      // The server closed the connection.
    }
  })();
  const reading = (async () => {
    let out = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return out;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  })();
  let guard: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<undefined>((r) => guard = setTimeout(() => r(undefined), guardMs));
  const answer = await Promise.race([reading, timedOut]);
  clearTimeout(guard);
  closed = true;
  conn.close();
  await writing;
  await reading;
  if (answer === undefined) throw new Error(`connection still open after ${guardMs} ms`);
  return answer;
}

Deno.test("serveFleet() closes a client that dribbles its request head past the limit", async () => {
  await using s = await limitedServer({ headerTimeoutMs: 200 });
  const answer = await dribble(
    s.port,
    "POST /v1/agents/web1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    "X-Slow: aaaaaaaa\r\n",
  );
  assert.match(answer, /^HTTP\/1\.1 408 /);
  assert.match(answer, /connection: close/);
});

Deno.test("serveFleet() closes a client that dribbles its body past the limit", async () => {
  await using s = await limitedServer({ bodyTimeoutMs: 200 });
  const answer = await dribble(
    s.port,
    "POST /v1/agents/web1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{",
    "a",
  );
  assert.match(answer, /^HTTP\/1\.1 408 /);
});

Deno.test("serveFleet() refuses connections past the cap until one closes", async () => {
  await using s = await limitedServer({ maxConnections: 2, headerTimeoutMs: 300 });
  const idle = await Promise.all(
    [1, 2].map(() => Deno.connect({ hostname: "127.0.0.1", port: s.port })),
  );
  // Both slots are taken once the server answers requests on neither; the third is refused at once.
  const refused = await dribble(s.port, "", " ", 5_000);
  assert.match(refused, /^HTTP\/1\.1 503 /);
  assert.match(s.logs.join("\n"), /2 connections open, refusing more/);
  // The idle ones are closed by the head time limit, which frees their slots.
  for (const conn of idle) {
    assert.equal(await conn.read(new Uint8Array(4096)).then((n) => n !== null), true, "408 sent");
    conn.close();
  }
  const res = await fetch(`http://127.0.0.1:${s.port}/v1/status`);
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("serveFleet() refuses chunked bodies and conflicting lengths instead of guessing", async () => {
  await using s = await limitedServer({});
  const post = "POST /v1/agents/web1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const chunked = await dribble(
    s.port,
    post + "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    " ",
  );
  assert.match(chunked, /^HTTP\/1\.1 411 /);
  const twice = await dribble(
    s.port,
    post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
    " ",
  );
  assert.match(twice, /^HTTP\/1\.1 400 /);
  const folded = await dribble(s.port, "GET /v1/status HTTP/1.1\r\nHost: a\r\n  b\r\n\r\n", " ");
  assert.match(folded, /^HTTP\/1\.1 400 /);
});
