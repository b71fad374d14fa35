import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { backendConformance, bytes, hexName } from "./conformance_test_kit.ts";
import { AlreadyExistsError, NotFoundError } from "./backend.ts";
import { RetryBackend } from "./retry.ts";
import { S3Backend, S3Error, S3TransportError } from "./s3.ts";
import {
  ensureTestBucket,
  freshS3Location,
  removeLockedS3Bucket,
  removeS3Prefix,
  s3TestServer,
} from "../testing/s3.ts";

const server = s3TestServer();
const ignore = server === undefined;
let bucketReady: Promise<void> | undefined;

async function fresh(options: ConstructorParameters<typeof S3Backend>[1] = {}) {
  bucketReady ??= ensureTestBucket(server!);
  await bucketReady;
  const location = freshS3Location(server!);
  return {
    location,
    backend: new S3Backend(location, { env: server!.env, ...options }),
    cleanup: () => removeS3Prefix(server!, location),
  };
}

backendConformance("S3Backend (Ceph RGW)", () => fresh(), { ignore });

backendConformance(
  "S3Backend without If-None-Match (claim protocol)",
  () => fresh({ conditionalWrites: false }),
  { ignore },
);

/**
 * A raw HTTP server on a port the OS picks, answering each request with the
 * bytes `answer` returns, so tests can send what a real server should not:
 * cut-off bodies, errors, stalls. Connections close after each answer.
 */
async function withFakeS3(
  answer: (
    request: { method: string; path: string; headers: Headers },
    n: number,
  ) => string | "stall" | { thenStall: string },
  fn: (
    location: string,
    requests: { method: string; path: string; headers: Headers }[],
  ) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: { method: string; path: string; headers: Headers }[] = [];
  const open = new Set<Deno.Conn>();
  const serve = async () => {
    for await (const conn of listener) {
      open.add(conn);
      void (async () => {
        const buf = new Uint8Array(1 << 16);
        let text = "";
        while (!text.includes("\r\n\r\n")) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return;
          text += new TextDecoder().decode(buf.subarray(0, n));
        }
        const [head, ...rest] = text.split("\r\n\r\n");
        const [line, ...lines] = head.split("\r\n");
        const headers = new Headers(lines.map((l) => {
          const i = l.indexOf(":");
          return [l.slice(0, i).trim(), l.slice(i + 1).trim()] as [string, string];
        }));
        let bodyLength = new TextEncoder().encode(rest.join("\r\n\r\n")).length;
        const due = Number(headers.get("content-length") ?? 0);
        while (bodyLength < due) {
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return;
          bodyLength += n;
        }
        const [method, path] = line.split(" ");
        const request = { method, path, headers };
        requests.push(request);
        const out = answer(request, requests.length);
        if (out === "stall") return; // keep the connection open, send nothing more
        const reply = typeof out === "string" ? out : out.thenStall;
        await conn.write(new TextEncoder().encode(reply)).catch(() => {});
        if (typeof out !== "string") return;
        conn.close();
        open.delete(conn);
      })();
    }
  };
  const serving = serve().catch(() => {});
  try {
    const { port } = listener.addr as Deno.NetAddr;
    await fn(`s3:http://127.0.0.1:${port}/bucket/repo`, requests);
  } finally {
    listener.close();
    for (const conn of open) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
    await serving;
  }
}

const FAKE_ENV = { AWS_ACCESS_KEY_ID: "AKIDFAKE", AWS_SECRET_ACCESS_KEY: "sEcReT-not-to-be-shown" };

function httpAnswer(status: string, headers: Record<string, string>, body = ""): string {
  const h = Object.entries({ connection: "close", ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return `HTTP/1.1 ${status}\r\n${h}\r\n${body}`;
}

function errorXml(code: string, message = ""): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
    `<Message>${message}</Message></Error>`;
}

Deno.test("S3Backend: a body shorter than its Content-Length is a transient error", async () => {
  await withFakeS3(
    () => httpAnswer("200 OK", { "content-length": "100" }, "x".repeat(40)),
    async (location) => {
      const b = new S3Backend(location, { env: FAKE_ENV });
      await rejects(b.load("data", hexName(1)), (err: Error & { transient?: boolean }) => {
        ok(err instanceof S3TransportError, String(err));
        ok(/cut short|40 of 100|failed/.test(err.message), err.message);
        equal(err.transient, true);
        return true;
      });
      await b.close();
    },
  );
});

Deno.test("S3Backend: a range answer that ends early is refused, not returned", async () => {
  await withFakeS3(
    () =>
      httpAnswer(
        "206 Partial Content",
        { "content-length": "10", "content-range": "bytes 0-9/20" },
        "0123456789",
      ),
    async (location) => {
      const b = new S3Backend(location, { env: FAKE_ENV });
      await rejects(b.load("data", hexName(1), { offset: 5, length: 10 }), S3TransportError);
      // A range the reported size cannot hold is a RangeError, as on a disk.
      await rejects(b.load("data", hexName(1), { offset: 15, length: 10 }), RangeError);
      await b.close();
    },
  );
});

Deno.test("S3Backend through openBackend retries 503 SlowDown and then succeeds", async () => {
  await withFakeS3(
    (_req, n) =>
      n <= 2
        ? httpAnswer("503 Slow Down", { "content-type": "application/xml" }, errorXml("SlowDown"))
        : httpAnswer("200 OK", { "content-length": "3" }, "abc"),
    async (location, requests) => {
      const waits: number[] = [];
      const b = new RetryBackend(new S3Backend(location, { env: FAKE_ENV }), {
        sleep: (ms) => {
          waits.push(ms);
          return Promise.resolve();
        },
      });
      deepStrictEqual(new TextDecoder().decode(await b.load("index", hexName(2))), "abc");
      equal(requests.length, 3);
      equal(waits.length, 2);
      ok(waits[1] > waits[0] / 2, `backoff grows: ${waits}`);
      await b.close();
    },
  );
});

Deno.test("S3Backend: 403 is one line naming bucket and key id, never the secret", async () => {
  await withFakeS3(
    () =>
      httpAnswer(
        "403 Forbidden",
        { "content-type": "application/xml" },
        errorXml("SignatureDoesNotMatch", "The request signature\nwe calculated does not match"),
      ),
    async (location, requests) => {
      const b = new RetryBackend(new S3Backend(location, { env: FAKE_ENV }), {
        sleep: () => Promise.resolve(),
      });
      await rejects(b.save("data", hexName(3), bytes(10, 3)), (err: Error) => {
        ok(err instanceof S3Error, String(err));
        ok(err.message.includes(`bucket "bucket"`), err.message);
        ok(err.message.includes(`"AKIDFAKE"`), err.message);
        ok(err.message.includes("SignatureDoesNotMatch"), err.message);
        ok(!err.message.includes("\n"), err.message);
        ok(!err.message.includes(FAKE_ENV.AWS_SECRET_ACCESS_KEY), err.message);
        return true;
      });
      equal(requests.length, 1, "a 403 is not retried");
      ok(!requests.some((r) => [...r.headers.values()].join().includes("sEcReT")));
      await b.close();
    },
  );
});

Deno.test("S3Backend: RequestTimeTooSkewed says how far apart the clocks are", async () => {
  const serverTime = new Date(Date.now() - 3_600_000).toUTCString();
  await withFakeS3(
    () =>
      httpAnswer(
        "403 Forbidden",
        { date: serverTime, "content-type": "application/xml" },
        errorXml("RequestTimeTooSkewed", "The difference is too large."),
      ),
    async (location) => {
      const b = new S3Backend(location, { env: FAKE_ENV });
      await rejects(b.stat("data", hexName(4)), (err: Error) => {
        ok(/clock is 36\d\d s ahead of the server's/.test(err.message), err.message);
        return true;
      });
      await b.close();
    },
  );
});

Deno.test("S3Backend: an answer that does not come in time fails transiently", async () => {
  await withFakeS3(
    (_req, n) => n === 1 ? "stall" : httpAnswer("200 OK", { "content-length": "2" }, "ok"),
    async (location) => {
      const b = new S3Backend(location, { env: FAKE_ENV, timeouts: { headersMs: 200 } });
      await rejects(b.load("data", hexName(5)), (err: Error & { transient?: boolean }) => {
        ok(err instanceof S3TransportError, String(err));
        ok(err.message.includes("no answer within 200 ms"), err.message);
        return true;
      });
      equal(new TextDecoder().decode(await b.load("data", hexName(5))), "ok");
      await b.close();
    },
  );
});

Deno.test("S3Backend: a body that stalls past the time limit fails transiently", async () => {
  await withFakeS3(
    () => ({ thenStall: httpAnswer("200 OK", { "content-length": "10" }, "abc") }),
    async (location) => {
      const b = new S3Backend(location, { env: FAKE_ENV, timeouts: { bodyIdleMs: 200 } });
      await rejects(b.load("data", hexName(5)), (err: Error & { transient?: boolean }) => {
        ok(err instanceof S3TransportError, String(err));
        ok(err.message.includes("body stalled for 200 ms"), err.message);
        equal(err.transient, true);
        return true;
      });
      await b.close();
    },
  );
});

Deno.test("S3Backend: a listing that is truncated without a token throws", async () => {
  await withFakeS3(
    () =>
      httpAnswer(
        "200 OK",
        { "content-type": "application/xml" },
        `<?xml version="1.0"?><ListBucketResult><IsTruncated>true</IsTruncated>` +
          `<Contents><Key>repo/index/${hexName(6)}</Key><Size>5</Size></Contents>` +
          `</ListBucketResult>`,
      ),
    async (location) => {
      const b = new S3Backend(location, { env: FAKE_ENV });
      const seen: string[] = [];
      await rejects(
        (async () => {
          for await (const f of b.list("index")) seen.push(f.name);
        })(),
        /no continuation token/,
      );
      deepStrictEqual(seen, [hexName(6)]);
      await b.close();
    },
  );
});

Deno.test({
  name: "S3Backend lists more than 1,000 files of a type across pages (Ceph RGW)",
  ignore,
  fn: async () => {
    const { backend, cleanup } = await fresh();
    try {
      const names = Array.from({ length: 1005 }, (_, i) => hexName(5000 + i));
      for (let i = 0; i < names.length; i += 50) {
        await Promise.all(
          names.slice(i, i + 50).map((n) => backend.save("snapshots", n, bytes(1, 1))),
        );
      }
      const listed = (await Array.fromAsync(backend.list("snapshots"))).map((f) => f.name);
      deepStrictEqual(listed.sort(), names.sort());
    } finally {
      await backend.close();
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "S3Backend signs a save with the SHA-256 it is given, and the server refuses one that is wrong (Ceph RGW)",
  ignore,
  fn: async () => {
    const { backend, cleanup } = await fresh();
    try {
      const data = bytes(300_000, 7);
      const hex = (b: ArrayBuffer) =>
        Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
      const name = hex(await crypto.subtle.digest("SHA-256", data as BufferSource));
      await backend.save("data", name, data, { sha256: name });
      deepStrictEqual(await backend.load("data", name), data);
      // A hash that is not the bytes' is no shortcut to storing them: the PUT is refused.
      const other = hexName(77);
      await rejects(backend.save("data", other, data, { sha256: other }), S3Error);
      await rejects(backend.stat("data", other), NotFoundError);
    } finally {
      await backend.close();
      await cleanup();
    }
  },
});

Deno.test({
  name: "S3Backend.create() makes a missing bucket and refuses a location holding a repository",
  ignore,
  fn: async () => {
    const bucket = `cairn-new-${crypto.randomUUID().slice(0, 8)}`;
    const location = freshS3Location(server!, bucket);
    const backend = await S3Backend.create(location, { env: server!.env });
    try {
      await backend.save("config", "config", bytes(5, 1));
      await rejects(S3Backend.create(location, { env: server!.env }), Deno.errors.AlreadyExists);
    } finally {
      await backend.remove("config", "config");
      await backend.close();
    }
  },
});

Deno.test({
  name: "S3Backend with a wrong secret fails with a one-line 403 (Ceph RGW)",
  ignore,
  fn: async () => {
    bucketReady ??= ensureTestBucket(server!);
    await bucketReady;
    const env = { ...server!.env, AWS_SECRET_ACCESS_KEY: "wrong-secret-value" };
    const b = new S3Backend(freshS3Location(server!), { env });
    await rejects(b.save("data", hexName(1), bytes(5, 1)), (err: Error) => {
      ok(err instanceof S3Error && err.status === 403, String(err));
      ok(err.message.includes(server!.env.AWS_ACCESS_KEY_ID), err.message);
      ok(!err.message.includes("wrong-secret-value"), err.message);
      return true;
    });
    await b.close();
  },
});

Deno.test("S3Backend trusts an https endpoint's CA only when ca_file names it", async () => {
  const dir = new URL("./testdata/", import.meta.url);
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: Deno.readTextFileSync(new URL("server.pem", dir)),
    key: Deno.readTextFileSync(new URL("server.key", dir)),
    onListen: () => {},
  }, () => new Response(null, { headers: { "content-length": "7" } }));
  try {
    const location = `s3:https://127.0.0.1:${server.addr.port}/bucket/repo`;
    const caFile = new URL("ca.pem", dir).pathname;
    const trusted = new S3Backend(location + `?ca_file=${encodeURIComponent(caFile)}`, {
      env: FAKE_ENV,
    });
    equal((await trusted.stat("data", hexName(1))).size, 7);
    await trusted.close();
    const viaBundle = new S3Backend(location, { env: { ...FAKE_ENV, AWS_CA_BUNDLE: caFile } });
    equal((await viaBundle.stat("data", hexName(1))).size, 7);
    await viaBundle.close();
    const untrusted = new S3Backend(location, { env: FAKE_ENV });
    await rejects(untrusted.stat("data", hexName(1)), (err: Error) => {
      ok(err instanceof S3TransportError, String(err));
      ok(/certificate|UnknownIssuer|tls/i.test(err.message), err.message);
      return true;
    });
    await untrusted.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test({
  name: "S3Backend finds that RGW honours If-None-Match and uses it, not claims",
  ignore,
  fn: async () => {
    const sent: { method: string; path: string; conditional: boolean }[] = [];
    const spy: typeof fetch = (input, init) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      const headers = new Headers(init?.headers);
      sent.push({
        method: init?.method ?? "GET",
        path: url.pathname,
        conditional: headers.get("if-none-match") === "*",
      });
      return fetch(input, init);
    };
    const { backend, cleanup } = await fresh({ fetch: spy });
    try {
      await backend.save("config", "config", bytes(10, 1), { ifAbsent: true });
      await rejects(
        backend.save("config", "config", bytes(10, 2), { ifAbsent: true }),
        AlreadyExistsError,
      );
      const puts = sent.filter((r) => r.method === "PUT");
      ok(puts.some((r) => r.conditional && r.path.includes("/claims/probe-")), "probed once");
      equal(puts.filter((r) => r.conditional && r.path.endsWith("/config")).length, 2);
      ok(!puts.some((r) => r.path.includes("/claims/config-")), "no claim objects");
    } finally {
      await backend.close();
      await cleanup();
    }
  },
});

Deno.test({
  name:
    "S3Backend.remove() in a versioned (Object Lock) bucket deletes every version, not just hides it",
  ignore,
  fn: async () => {
    const bucket = `cairn-ver-${crypto.randomUUID().slice(0, 8)}`;
    const location = `s3:${server!.endpoint}/${bucket}/r`;
    const backend = await S3Backend.create(location, { env: server!.env, objectLock: true });
    try {
      const name = hexName(1);
      // An idempotent re-save makes a second version of the same bytes.
      await backend.save("data", name, bytes(100, 1));
      await backend.save("data", name, bytes(100, 1));
      await backend.remove("data", name);
      await rejects(() => backend.stat("data", name), NotFoundError);
      deepStrictEqual(await Array.fromAsync(backend.list("data")), []);
      const { AwsClient } = await import("aws4fetch");
      const aws = new AwsClient({
        accessKeyId: server!.env.AWS_ACCESS_KEY_ID,
        secretAccessKey: server!.env.AWS_SECRET_ACCESS_KEY,
        region: server!.env.AWS_DEFAULT_REGION,
        service: "s3",
        retries: 0,
      });
      const versions = await (await aws.fetch(`${server!.endpoint}/${bucket}?versions`)).text();
      ok(!versions.includes(name), `no version or delete marker is left: ${versions}`);
    } finally {
      await backend.close();
      await removeLockedS3Bucket(server!, bucket).catch(() => {});
    }
  },
});
