import { assert, assertEquals, assertStringIncludes } from "../testing/asserts.ts";
import { serveLimited, type ServerLimits } from "./server.ts";

async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (base: string) => Promise<void>,
  limits: ServerLimits = {},
) {
  const ac = new AbortController();
  const server = serveLimited({
    ...limits,
    hostname: "127.0.0.1",
    port: 0,
    signal: ac.signal,
    onError: () => new Response("boom", { status: 500 }),
  }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`);
  } finally {
    ac.abort();
    await server.finished;
  }
}

/** A body of `chunks` pieces of `size` bytes, made as it is read. */
function generated(
  chunks: number,
  size: number,
  pulled: { n: number },
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i === chunks) return c.close();
      pulled.n++;
      c.enqueue(new Uint8Array(size).fill(i++ & 0xff));
    },
  }, { highWaterMark: 0 });
}

Deno.test("serveLimited() streams a body with a declared content-length, byte for byte", async () => {
  const pulled = { n: 0 };
  await withServer(
    () =>
      new Response(generated(64, 65536, pulled), {
        headers: { "content-length": String(64 << 16) },
      }),
    async (base) => {
      const res = await fetch(base + "/");
      assertEquals(res.headers.get("content-length"), String(64 << 16));
      const body = new Uint8Array(await res.arrayBuffer());
      assertEquals(body.length, 64 << 16);
      for (let i = 0; i < 64; i++) assertEquals(body[i * 65536 + 100], i);
    },
  );
  assertEquals(pulled.n, 64);
});

Deno.test("serveLimited() sends transfer-encoding: chunked bodies in chunks, ended by a zero chunk", async () => {
  await withServer(
    () =>
      new Response(generated(5, 1000, { n: 0 }), { headers: { "transfer-encoding": "chunked" } }),
    async (base) => {
      const res = await fetch(base + "/");
      assertEquals(res.headers.get("transfer-encoding"), "chunked");
      assertEquals((await res.arrayBuffer()).byteLength, 5000);
    },
  );
});

Deno.test("serveLimited() answers HEAD with the content-length a GET would have, and no body", async () => {
  await withServer(
    () => new Response(generated(3, 10, { n: 0 }), { headers: { "content-length": "30" } }),
    async (base) => {
      const res = await fetch(base + "/", { method: "HEAD" });
      assertEquals(res.headers.get("content-length"), "30");
      assertEquals((await res.arrayBuffer()).byteLength, 0);
    },
  );
});

Deno.test("serveLimited() cuts a chunked body that fails midway short of its zero chunk", async () => {
  let i = 0;
  const failing = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i++ < 2) c.enqueue(new Uint8Array(100));
      else c.error(new Error("damaged"));
    },
  });
  await withServer(
    () => new Response(failing, { headers: { "transfer-encoding": "chunked" } }),
    async (base) => {
      const res = await fetch(base + "/");
      let failed = false;
      try {
        await res.arrayBuffer();
      } catch {
        failed = true;
      }
      assertEquals(failed, true);
    },
  );
});

Deno.test("serveLimited() answers 503 when the handler runs out of time, and aborts its request's signal", async () => {
  let signal: AbortSignal | undefined;
  const start = Date.now();
  // The handler never answers; the server, and its shutdown, must not wait for it.
  await withServer(
    (req) => {
      signal = req.signal;
      return new Promise<Response>(() => {});
    },
    async (base) => {
      const res = await fetch(base + "/");
      assertEquals(res.status, 503);
      assertStringIncludes(await res.text(), "took too long");
    },
    { handlerTimeoutMs: 300 },
  );
  assert(Date.now() - start < 10_000, "the server stopped without the handler");
  assertEquals(signal?.aborted, true);
  assertEquals((signal?.reason as DOMException).name, "TimeoutError");
});

Deno.test("serveLimited() aborts a request's signal when its connection ends", async () => {
  let signal: AbortSignal | undefined;
  await withServer(
    (req) => {
      signal = req.signal;
      return new Response("ok");
    },
    async (base) => {
      assertEquals(await (await fetch(base + "/")).text(), "ok");
    },
  );
  assertEquals(signal?.aborted, true);
});

Deno.test("serveLimited() cuts a streamed body short when it yields nothing for the response limit", async () => {
  const stalled = (first: Uint8Array) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(first); // then nothing, ever
      },
    });
  const streamed: Record<string, string>[] = [
    { "content-length": "200" },
    { "transfer-encoding": "chunked" },
  ];
  for (const headers of streamed) {
    await withServer(
      () => new Response(stalled(new Uint8Array(100)), { headers }),
      async (base) => {
        const res = await fetch(base + "/");
        assertEquals(res.status, 200);
        const failed = await res.arrayBuffer().then(() => false, () => true);
        assertEquals(failed, true, `${JSON.stringify(headers)}: the client sees it incomplete`);
      },
      { responseTimeoutMs: 300 },
    );
  }
  // A buffered body that never ends: no answer, the connection closes.
  await withServer(
    () => new Response(stalled(new Uint8Array(1))),
    async (base) => {
      const failed = await fetch(base + "/").then((r) => r.arrayBuffer()).then(
        () => false,
        () => true,
      );
      assertEquals(failed, true);
    },
    { responseTimeoutMs: 300 },
  );
});

Deno.test("a server given a signal that has already aborted stops at once and accepts nothing", async () => {
  const ac = new AbortController();
  ac.abort();
  const server = serveLimited(
    {
      hostname: "127.0.0.1",
      port: 0,
      signal: ac.signal,
      onError: () => new Response("", { status: 500 }),
    },
    () => new Response("served"),
  );
  await server.finished;
  const refused = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port })
    .then((c) => (c.close(), false), () => true);
  assert(refused, "the listener was still open");
});
