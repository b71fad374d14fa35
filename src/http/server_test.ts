import { assertEquals } from "../testing/asserts.ts";
import { serveLimited } from "./server.ts";

async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (base: string) => Promise<void>,
) {
  const ac = new AbortController();
  const server = serveLimited({
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
