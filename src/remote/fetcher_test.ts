import assert from "node:assert/strict";
import { generateKeyPair, signDocument } from "./keys.ts";
import { RemoteJobSource } from "./fetcher.ts";
import type { RemoteDocument, RemoteJobSourceOptions } from "./types.ts";
import { jobDocument, parseTestDocument, TestFleet } from "./_testkit.ts";

const allow = { repositories: ["main"], paths: ["/srv", "/home"] };

async function openSource(
  fleet: { urlTemplate: string; publicKey: string },
  stateDir: string,
  extra: Partial<RemoteJobSourceOptions<RemoteDocument>> = {},
) {
  const logs: string[] = [];
  const source = await RemoteJobSource.open({
    url: fleet.urlTemplate,
    host: "web1",
    publicKey: fleet.publicKey,
    allow,
    stateDir,
    parse: parseTestDocument,
    timeoutMs: 2000,
    log: (l) => logs.push(l),
    ...extra,
  });
  return { source, logs };
}

Deno.test("RemoteJobSource.poll() accepts a first document, then sees it unchanged", async () => {
  await using fleet = await TestFleet.start();
  await fleet.publish("web1", jobDocument(1));
  using s = (await openSource(fleet, `${fleet.dir}/state`)).source;

  const first = await s.poll();
  assert.equal(first.status, "updated");
  assert.equal(first.current?.version, 1);
  assert.deepEqual(first.current?.config.jobs[0].paths, ["/srv/www"]);
  const cached = JSON.parse(await Deno.readTextFile(`${fleet.dir}/state/remote-jobs.json`));
  assert.equal(cached.version, 1);
  assert.match(cached.etag, /^"[0-9a-f]{64}"$/);

  const second = await s.poll();
  assert.equal(second.status, "unchanged");
  assert.equal(second.current?.version, 1);
});

Deno.test("RemoteJobSource.poll() accepts a changed document with a higher version", async () => {
  await using fleet = await TestFleet.start();
  await fleet.publish("web1", jobDocument(1));
  using s = (await openSource(fleet, `${fleet.dir}/state`)).source;
  await s.poll();
  await fleet.publish("web1", jobDocument(2, { paths: ["/srv/www", "/home/ann"] }));
  const r = await s.poll();
  assert.equal(r.status, "updated");
  assert.equal(r.current?.version, 2);
  assert.deepEqual(r.current?.config.jobs[0].paths, ["/srv/www", "/home/ann"]);
});

/** Publishes v1, polls, then lets `change` publish something; returns the second poll. */
async function afterGoodVersion(change: (fleet: TestFleet) => Promise<void>) {
  await using fleet = await TestFleet.start();
  await fleet.publish("web1", jobDocument(1));
  const { source, logs } = await openSource(fleet, `${fleet.dir}/state`);
  using s = source;
  assert.equal((await s.poll()).status, "updated");
  await change(fleet);
  const result = await s.poll();
  // Whatever happened, version 1 stays in force.
  assert.equal(result.current?.version, 1);
  assert.equal(s.current?.version, 1);
  return { result, logs };
}

Deno.test("RemoteJobSource.poll() rejects a tampered body and keeps the last good document", async () => {
  const { result, logs } = await afterGoodVersion(async (fleet) => {
    await fleet.publish("web1", jobDocument(2));
    const path = `${fleet.dir}/jobs/web1.toml`;
    await Deno.writeTextFile(path, (await Deno.readTextFile(path)).replace("/srv/www", "/srv/wwx"));
  });
  assert.equal(result.status, "rejected");
  assert.equal(
    result.status === "rejected" && result.reason,
    "bad signature: wrong key or tampered document",
  );
  assert.equal(logs.length, 1);
  assert.match(logs[0], /^remote jobs http:.*: rejected: bad signature.*; keeping version 1$/);
});

Deno.test("RemoteJobSource.poll() rejects a document signed with another key", async () => {
  const other = await generateKeyPair();
  const { result } = await afterGoodVersion((fleet) =>
    fleet.publish("web1", jobDocument(2), other.privateKey)
  );
  assert.equal(result.status, "rejected");
  assert.match(result.status === "rejected" ? result.reason : "", /bad signature/);
});

Deno.test("RemoteJobSource.poll() rejects an unsigned document", async () => {
  const { result } = await afterGoodVersion(async (fleet) => {
    await fleet.publish("web1", jobDocument(2));
    await Deno.remove(`${fleet.dir}/jobs/web1.toml.sig`);
  });
  assert.equal(result.status, "rejected");
  assert.match(
    result.status === "rejected" ? result.reason : "",
    /^unsigned document: no signature at http:.*\.sig$/,
  );
});

Deno.test("RemoteJobSource.poll() rejects a replayed older version", async () => {
  await using fleet = await TestFleet.start();
  const v1 = jobDocument(1);
  await fleet.publish("web1", v1);
  using s = (await openSource(fleet, `${fleet.dir}/state`)).source;
  await s.poll();
  await fleet.publish("web1", jobDocument(2));
  await s.poll();
  await fleet.publish("web1", v1);
  const r = await s.poll();
  assert.equal(r.status, "rejected");
  assert.equal(r.status === "rejected" && r.reason, "version 1 is older than accepted version 2");
  assert.equal(r.current?.version, 2);
});

Deno.test("RemoteJobSource.poll() rejects the same version with different content", async () => {
  const { result } = await afterGoodVersion((fleet) =>
    fleet.publish("web1", jobDocument(1, { paths: ["/home/x"] }))
  );
  assert.equal(
    result.status === "rejected" && result.reason,
    "version 1 was already accepted with different content",
  );
});

Deno.test("RemoteJobSource.poll() rejects an expired document", async () => {
  const { result } = await afterGoodVersion((fleet) =>
    fleet.publish("web1", jobDocument(2, { expires: new Date(Date.now() - 1000) }))
  );
  assert.equal(result.status, "rejected");
  assert.match(result.status === "rejected" ? result.reason : "", /^document version 2 expired /);
});

Deno.test("RemoteJobSource.poll() rejects a job outside the allow list", async () => {
  const { result } = await afterGoodVersion((fleet) =>
    fleet.publish("web1", jobDocument(2, { paths: ["/srv/www", "/etc"] }))
  );
  assert.equal(
    result.status === "rejected" && result.reason,
    'not allowed: job "www": path "/etc" is not under any remote.allow.paths prefix',
  );
  const repo = await afterGoodVersion((fleet) =>
    fleet.publish("web1", jobDocument(2, { repository: "other" }))
  );
  assert.match(repo.result.status === "rejected" ? repo.result.reason : "", /repository "other"/);
});

Deno.test("RemoteJobSource.poll() rejects a job that would act as another host", async () => {
  const { result } = await afterGoodVersion((fleet) =>
    fleet.publish("web1", jobDocument(2, { host: "db1" }))
  );
  assert.equal(
    result.status === "rejected" && result.reason,
    'not allowed: job "www": host "db1" is not this agent\'s host "web1" ' +
      "(a remote document acts only as its agent)",
  );
});

Deno.test("RemoteJobSource.poll() rejects a path that runs through a symlink out of the prefix", async () => {
  await using fleet = await TestFleet.start();
  const root = await Deno.realPath(fleet.dir);
  await Deno.mkdir(`${root}/allowed/www`, { recursive: true });
  await Deno.mkdir(`${root}/outside`);
  await Deno.writeTextFile(`${root}/outside/secret`, "s3cret");
  await Deno.symlink(`${root}/outside`, `${root}/allowed/link`);
  // The prefix itself may be a symlink: it is resolved too.
  await Deno.symlink(`${root}/allowed`, `${root}/alias`);
  const rules = { repositories: ["main"], paths: [`${root}/alias`] };
  const { source, logs } = await openSource(fleet, `${root}/state`, { allow: rules });
  using s = source;

  await fleet.publish(
    "web1",
    jobDocument(1, { paths: [`${root}/alias/www`, `${root}/alias/new`] }),
  );
  assert.equal((await s.poll()).status, "updated", logs.join("\n"));

  await fleet.publish("web1", jobDocument(2, { paths: [`${root}/alias/link/secret`] }));
  const r = await s.poll();
  assert.equal(
    r.status === "rejected" && r.reason,
    `not allowed: job "www": path "${root}/alias/link/secret" leads to "${root}/outside/secret", ` +
      "which is not under any remote.allow.paths prefix",
  );
  assert.equal(r.current?.version, 1);

  // A dangling link is refused too: where it leads can change later.
  await Deno.symlink(`${root}/nowhere`, `${root}/allowed/dangling`);
  await fleet.publish("web1", jobDocument(3, { paths: [`${root}/alias/dangling/x`] }));
  const d = await s.poll();
  assert.match(d.status === "rejected" ? d.reason : "", /runs through a dangling symlink/);
});

Deno.test("RemoteJobSource.poll() rejects a signed document that does not parse", async () => {
  const { result } = await afterGoodVersion((fleet) => fleet.publish("web1", "version = [\n"));
  assert.match(result.status === "rejected" ? result.reason : "", /^invalid document: /);
});

Deno.test("RemoteJobSource keeps the cached document when the endpoint is down, across a restart", async () => {
  const fleet = await TestFleet.start();
  try {
    await fleet.publish("web1", jobDocument(1));
    const state = `${fleet.dir}/state`;
    using s = (await openSource(fleet, state)).source;
    await s.poll();
    await fleet.stop();

    const down = await s.poll();
    assert.equal(down.status, "unreachable");
    assert.equal(down.current?.version, 1);

    const { source, logs } = await openSource(fleet, state);
    using restarted = source;
    assert.equal(restarted.current?.version, 1);
    assert.deepEqual(restarted.current?.config.jobs[0].paths, ["/srv/www"]);
    const r = await restarted.poll();
    assert.equal(r.status, "unreachable");
    assert.equal(r.current?.version, 1);
    assert.match(logs[0], /unreachable: .*; keeping version 1$/);
  } finally {
    await Deno.remove(fleet.dir, { recursive: true });
  }
});

Deno.test("RemoteJobSource keeps running an expired cached document and logs it loudly", async () => {
  await using fleet = await TestFleet.start();
  await fleet.publish("web1", jobDocument(1, { expires: new Date(Date.now() + 60_000) }));
  const state = `${fleet.dir}/state`;
  using s = (await openSource(fleet, state)).source;
  await s.poll();

  const later = () => new Date(Date.now() + 120_000);
  const { source, logs } = await openSource(fleet, state, { now: later });
  using restarted = source;
  assert.equal(restarted.current?.expired, true);
  const r = await restarted.poll();
  assert.equal(r.status, "unchanged");
  assert.equal(r.current?.version, 1);
  assert.equal(r.current?.expired, true);
  assert.match(logs.at(-1)!, /WARNING: running expired job document version 1/);
});

Deno.test("RemoteJobSource ignores a cache that does not verify with the configured key", async () => {
  await using fleet = await TestFleet.start();
  await fleet.publish("web1", jobDocument(5));
  const state = `${fleet.dir}/state`;
  using s = (await openSource(fleet, state)).source;
  await s.poll();

  const other = await generateKeyPair();
  const otherPub = new Uint8Array(await crypto.subtle.exportKey("raw", other.publicKey)).toBase64();
  const { source, logs } = await openSource(fleet, state, { publicKey: otherPub });
  using rotated = source;
  assert.equal(rotated.current, undefined);
  assert.match(logs[0], /ignoring cache: bad signature/);
});

Deno.test("RemoteJobSource.open() refuses plain http to a non-loopback host", async () => {
  await assert.rejects(
    RemoteJobSource.open({
      url: "http://ctl.example/v1/agents/{host}/jobs.toml",
      host: "web1",
      publicKey: (await generateKeyPair()).publicKey,
      allow,
      stateDir: "/nonexistent",
      parse: parseTestDocument,
    }),
    /must be https/,
  );
});

// ---- scripted servers for transport edge cases ----

async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (origin: string) => Promise<void>,
) {
  const ac = new AbortController();
  const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: (a) => resolve(a as Deno.NetAddr),
  }, handler);
  try {
    await fn(`http://127.0.0.1:${(await promise).port}`);
  } finally {
    ac.abort();
    await server.finished;
  }
}

async function signedPair(version = 1) {
  const keys = await generateKeyPair();
  const doc = new TextEncoder().encode(jobDocument(version));
  const sig = await signDocument(doc, keys.privateKey);
  const pub = new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey)).toBase64();
  return { doc, sig, pub };
}

Deno.test("RemoteJobSource.poll() rejects an oversized body, with or without Content-Length", async () => {
  const { sig, pub } = await signedPair();
  const big = new Uint8Array(5000).fill(0x23);
  for (const chunked of [false, true]) {
    await withServer((req) => {
      if (req.url.endsWith(".sig")) return new Response(sig);
      if (!chunked) return new Response(big);
      return new Response(ReadableStream.from([big.subarray(0, 2500), big.subarray(2500)]));
    }, async (origin) => {
      const state = await Deno.makeTempDir();
      using s = (await openSource({ urlTemplate: `${origin}/{host}`, publicKey: pub }, state, {
        maxDocumentBytes: 4096,
      })).source;
      const r = await s.poll();
      assert.equal(r.status === "rejected" && r.reason, "document exceeds 4096 bytes");
      await Deno.remove(state, { recursive: true });
    });
  }
});

Deno.test("RemoteJobSource.poll() gives up on a slow body after the timeout", async () => {
  const { doc, sig, pub } = await signedPair();
  let timer: ReturnType<typeof setTimeout> | undefined;
  await withServer((req) => {
    if (req.url.endsWith(".sig")) return new Response(sig);
    // Sends the first bytes, then stalls far past the client's timeout (the
    // timer only keeps a broken client from waiting forever).
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(doc.subarray(0, 10));
        timer = setTimeout(() => c.close(), 120_000);
      },
      cancel() {
        clearTimeout(timer);
      },
    });
    return new Response(body);
  }, async (origin) => {
    const state = await Deno.makeTempDir();
    using s = (await openSource({ urlTemplate: `${origin}/{host}`, publicKey: pub }, state, {
      timeoutMs: 300,
    })).source;
    const r = await s.poll();
    // Had the client waited for the body to end, it would hold a short document
    // (rejected), not a timeout.
    assert.equal(r.status, "unreachable");
    assert.match((r as { reason: string }).reason, /timed out/);
    clearTimeout(timer);
    await Deno.remove(state, { recursive: true });
  });
});

Deno.test("RemoteJobSource.poll() sends If-None-Match and the URL-encoded host, and treats same bytes as unchanged", async () => {
  const { doc, sig, pub } = await signedPair();
  const seen: { path: string; inm: string | null }[] = [];
  await withServer((req) => {
    const url = new URL(req.url);
    seen.push({ path: url.pathname, inm: req.headers.get("if-none-match") });
    // Ignores If-None-Match and always resends the same bytes.
    return new Response(url.pathname.endsWith(".sig") ? sig : doc, { headers: { etag: '"e1"' } });
  }, async (origin) => {
    const state = await Deno.makeTempDir();
    using s =
      (await openSource({ urlTemplate: `${origin}/a/{host}/jobs.toml`, publicKey: pub }, state, {
        host: "web 1/x",
      })).source;
    assert.equal((await s.poll()).status, "updated");
    assert.equal((await s.poll()).status, "unchanged");
    assert.deepEqual(seen.map((x) => x.path), [
      "/a/web%201%2Fx/jobs.toml",
      "/a/web%201%2Fx/jobs.toml.sig",
      "/a/web%201%2Fx/jobs.toml",
    ]);
    assert.equal(seen[2].inm, '"e1"');
    await Deno.remove(state, { recursive: true });
  });
});

Deno.test("RemoteJobSource.poll() sends the bearer token from token_file", async () => {
  const tmp = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${tmp}/tokens`, "web1 t0ken\n");
    await Deno.writeTextFile(`${tmp}/token`, "t0ken\n");
    await using fleet = await TestFleet.start({ tokensFile: `${tmp}/tokens` });
    await fleet.publish("web1", jobDocument(1));
    using without = (await openSource(fleet, `${tmp}/s1`)).source;
    const denied = await without.poll();
    assert.equal(denied.status, "unreachable");
    assert.match(denied.status === "unreachable" ? denied.reason : "", /^HTTP 401 from /);
    using withToken = (await openSource(fleet, `${tmp}/s2`, { tokenFile: `${tmp}/token` })).source;
    assert.equal((await withToken.poll()).status, "updated");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
