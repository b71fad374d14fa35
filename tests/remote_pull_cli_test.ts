/**
 * Remote pull end to end: `cairn agent --once` with the real job parser
 * against a scripted HTTP server on loopback (an OS-chosen port), for what
 * docs/REMOTE.md promises about redirects, a missing signature, allow rules
 * tightened between runs and the version floor.
 *
 * @module
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { exportPublicKey, generateKeyPair, signDocument } from "../src/remote/mod.ts";
import { cairn, lastJson, makeRepo, writeJobFile } from "./_launcher.ts";

type Route = (req: Request) => Response;

/** An HTTP server on 127.0.0.1 whose answers the test sets path by path. */
async function scriptedServer() {
  const routes = new Map<string, Route>();
  const seen: string[] = [];
  const ac = new AbortController();
  const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onListen: (a) => resolve(a as Deno.NetAddr),
  }, (req) => {
    const path = new URL(req.url).pathname;
    seen.push(path);
    return routes.get(path)?.(req) ?? new Response("not found", { status: 404 });
  });
  const base = `http://127.0.0.1:${(await promise).port}`;
  return {
    base,
    routes,
    seen,
    async [Symbol.asyncDispose]() {
      ac.abort();
      await server.finished;
    },
  };
}

Deno.test("agent pulls: no redirects, 410 is unsigned, tightened allow rules keep the floor, a deleted cache resets it", async () => {
  const { dir, env } = await makeRepo();
  const host = Deno.hostname();
  for (const site of ["www", "other"]) {
    await Deno.mkdir(`${dir}/srv/${site}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/srv/${site}/index.html`, `${site}\n`);
  }
  const keys = await generateKeyPair();
  const publicKey = await exportPublicKey(keys.publicKey);
  await using server = await scriptedServer();
  const docPath = `/v1/agents/${host}/jobs.toml`;

  const document = async (version: number, site: string) => {
    const text = [
      `version = ${version}`,
      `expires = ${new Date(Date.now() + 3600_000).toISOString()}`,
      "",
      "[[job]]",
      `name = "${site}"`,
      `repository = "main"`,
      `paths = ["${dir}/srv/${site}"]`,
      `schedule = "@yearly"`,
    ].join("\n") + "\n";
    const bytes = new TextEncoder().encode(text);
    return { bytes, sig: await signDocument(bytes, keys.privateKey) };
  };
  /** Serves `doc` at `path` and its signature at `path.sig`. */
  const serve = (path: string, doc: { bytes: Uint8Array; sig: Uint8Array }) => {
    server.routes.set(path, () => new Response(doc.bytes.slice()));
    server.routes.set(`${path}.sig`, () => new Response(doc.sig.slice()));
  };
  const boot = `${dir}/cairn.toml`;
  const writeBoot = (allowed: string) =>
    writeJobFile(dir, env, [
      "[remote]",
      `url = "${server.base}/v1/agents/{host}/jobs.toml"`,
      `public_key = "${publicKey}"`,
      "[remote.allow]",
      `repositories = ["main"]`,
      `paths = ["${allowed}"]`,
    ]);
  const agent = async () => {
    const r = await cairn(["agent", "--config", boot, "--once"]);
    assertEquals(r.code, 0, r.stderr);
    return r.stderr;
  };
  const snapshotJobs = async () =>
    lastJson<{ job: string }[]>(await cairn(["snapshots", "--json"], { env })).map((s) => s.job);
  const cache = `${dir}/state/remote-jobs.json`;
  const v2 = await document(2, "www");
  await writeBoot(`${dir}/srv`);

  // A redirect is not followed, even to a signed document on the same server.
  serve("/elsewhere/jobs.toml", v2);
  server.routes.set(
    docPath,
    () => new Response(null, { status: 302, headers: { location: "/elsewhere/jobs.toml" } }),
  );
  const redirected = await agent();
  assertMatch(redirected, /unreachable: .*redirect.*; no jobs yet/i);
  assert(!server.seen.includes("/elsewhere/jobs.toml"), "the redirect was followed");
  assertEquals(await snapshotJobs(), []);

  // A signature that is gone (410) makes the document unsigned.
  server.routes.set(docPath, () => new Response(v2.bytes.slice()));
  server.routes.set(`${docPath}.sig`, () => new Response("gone", { status: 410 }));
  const gone = await agent();
  assertStringIncludes(
    gone,
    `rejected: unsigned document: no signature at ${server.base}${docPath}.sig; no jobs yet`,
  );
  assertEquals(await snapshotJobs(), []);

  // Signed: accepted, cached, and its job runs.
  serve(docPath, v2);
  const accepted = await agent();
  assertStringIncludes(accepted, "remote jobs: accepted version 2");
  assertEquals(await snapshotJobs(), ["www"]);
  assertEquals(JSON.parse(await Deno.readTextFile(cache)).version, 2);

  // The allow rules are tightened to srv/other while the agent is stopped: the cached
  // version 2 (srv/www) is not run, but it still is the floor, so an older version 1
  // inside the new rules is refused.
  await writeBoot(`${dir}/srv/other`);
  serve(docPath, await document(1, "other"));
  const tightened = await agent();
  assertMatch(tightened, /ignoring cached version 2: not allowed: .*srv\/www/);
  assertStringIncludes(
    tightened,
    "rejected: version 1 is older than accepted version 2; no jobs yet",
  );
  assertEquals(await snapshotJobs(), ["www"], "nothing ran");

  // Deleting the cache resets the floor (docs/REMOTE.md): version 1 is accepted now.
  await Deno.remove(cache);
  const reset = await agent();
  assertStringIncludes(reset, "remote jobs: accepted version 1");
  assertEquals((await snapshotJobs()).sort(), ["other", "www"]);
  assertEquals(JSON.parse(await Deno.readTextFile(cache)).version, 1);
  await Deno.remove(dir, { recursive: true });
});
