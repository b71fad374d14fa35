import { assert, assertEquals } from "../testing/asserts.ts";
import {
  healthPings,
  PING_BODY_MAX,
  pingBody,
  pingFor,
  redactUrl,
  sendPing,
} from "./health_ping.ts";

const UUID = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";

Deno.test("healthPings() follows healthchecks.io: URL/start, URL, URL/fail; keys override", () => {
  assertEquals(healthPings(`https://hc-ping.com/${UUID}/`), {
    start: `https://hc-ping.com/${UUID}/start`,
    success: `https://hc-ping.com/${UUID}`,
    failure: `https://hc-ping.com/${UUID}/fail`,
  });
  assertEquals(healthPings(undefined, { failure: "https://mon/x" }), { failure: "https://mon/x" });
  const p = healthPings("https://hc/u", { start: "https://other/s" });
  assertEquals(p.start, "https://other/s");
  assertEquals([pingFor(p, "success"), pingFor(p, "partial"), pingFor(p, "failed")], [
    "https://hc/u",
    "https://hc/u/fail",
    "https://hc/u/fail",
  ]);
  assertEquals(pingFor(p, "skipped"), "https://hc/u/fail");
  assertEquals(
    redactUrl(`https://user:pw@hc-ping.com:8443/${UUID}?k=secret`),
    "https://hc-ping.com:8443/…",
  );
});

Deno.test("pingBody() keeps the newest lines within the size limit", () => {
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${"x".repeat(20)}`);
  const body = pingBody(lines);
  assert(new TextEncoder().encode(body).length <= PING_BODY_MAX);
  assert(body.endsWith("line 1999 xxxxxxxxxxxxxxxxxxxx"), "the last line is kept");
  assert(!body.includes("line 0 "), "the oldest lines go");
});

/** A local server: `answer` decides each response; every request is recorded. */
function server(answer: (n: number) => Response | Promise<Response>) {
  const seen: { method: string; path: string; body: string }[] = [];
  const s = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    seen.push({ method: req.method, path: new URL(req.url).pathname, body: await req.text() });
    return answer(seen.length);
  });
  return { seen, url: `http://127.0.0.1:${s.addr.port}`, close: () => s.shutdown() };
}

Deno.test("sendPing() POSTs the body, GETs without one, and retries a 5xx", async () => {
  const srv = server((n) => new Response("", { status: n === 2 ? 503 : 200 }));
  try {
    assert(await sendPing(`${srv.url}/${UUID}/start`));
    assert(await sendPing(`${srv.url}/${UUID}`, { body: "log tail", backoffMs: 10 }));
    assertEquals(srv.seen.map((r) => [r.method, r.path, r.body]), [
      ["GET", `/${UUID}/start`, ""],
      ["POST", `/${UUID}`, "log tail"],
      ["POST", `/${UUID}`, "log tail"],
    ]);
  } finally {
    await srv.close();
  }
});

Deno.test("sendPing() gives up in time, never throws, and logs no part of the URL's path", async () => {
  const warnings: string[] = [];
  const hang = server(() => new Promise<Response>(() => {}));
  try {
    const t0 = performance.now();
    const ok = await sendPing(`${hang.url}/${UUID}`, {
      timeoutMs: 100,
      attempts: 2,
      backoffMs: 10,
      onWarning: (m) => warnings.push(m),
    });
    assertEquals(ok, false);
    assert(performance.now() - t0 < 5000, "bounded by the time limit");
    assertEquals(hang.seen.length, 2);
  } finally {
    // A hung handler keeps the server open; the client gave up, so abandon it.
    hang.close().catch(() => {});
  }
  const refused = await sendPing(`http://user:secret@127.0.0.1:1/${UUID}?key=k`, {
    attempts: 1,
    onWarning: (m) => warnings.push(m),
  });
  assertEquals(refused, false);
  const gone = server(() => new Response("", { status: 404 }));
  try {
    assertEquals(
      await sendPing(`${gone.url}/${UUID}`, { onWarning: (m) => warnings.push(m) }),
      false,
    );
    assertEquals(gone.seen.length, 1, "a 4xx is not retried");
  } finally {
    await gone.close();
  }
  assertEquals(warnings.length, 3);
  assert(warnings[0].endsWith("failed: timed out"), warnings[0]);
  assert(warnings[2].endsWith("failed: HTTP 404"), warnings[2]);
  for (const w of warnings) {
    assert(!w.includes(UUID) && !w.includes("secret") && !w.includes("key=k"), w);
    assert(w.startsWith("health ping to http://127.0.0.1:"), w);
  }
});
