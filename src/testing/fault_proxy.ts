/**
 * A fault-injecting HTTP/1.1 proxy for tests: it sits on 127.0.0.1 (an
 * OS-chosen port) in front of an S3 server and, by a seeded schedule,
 * drops connections (before or after the server saw the request), answers
 * 500 InternalError or 503 SlowDown itself, cuts answer bodies short, or
 * delays. Requests pass byte for byte, so SigV4 signatures (which cover the
 * Host header) stay valid when the client is pointed at the proxy's address.
 *
 * One request per connection: the proxy asks the server for
 * `Connection: close`, relays its answer and closes. The schedule is drawn
 * per request in arrival order, so a seed fixes the sequence of faults,
 * though not which of several concurrent requests meets which.
 *
 * @module
 */

import { concatBytes } from "../fs/mod.ts";
/** What the proxy may do to one request. */
export type Fault =
  | "pass"
  | "delay"
  | "drop-before"
  | "drop-after"
  | "status-500"
  | "status-503"
  | "cut-body";

/** The faults other than "pass", for a schedule that uses them all. */
export const ALL_FAULTS: readonly Fault[] = [
  "delay",
  "drop-before",
  "drop-after",
  "status-500",
  "status-503",
  "cut-body",
];

export interface FaultProxyOptions {
  /** `host:port` of the real server. */
  upstream: string;
  /** Seed of the schedule. */
  seed: number;
  /** Chance that a request meets a fault, in [0, 1]. */
  rate: number;
  /** Which faults to draw from; default {@link ALL_FAULTS}. */
  faults?: readonly Fault[];
  /** Longest delay of a "delay" fault; default 300 ms. */
  maxDelayMs?: number;
}

/** A running proxy; `await using` stops it. */
export interface FaultProxy extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** How many requests met each fault so far. */
  readonly counts: Record<Fault, number>;
  /** Stops listening and waits for the connections in flight. */
  close(): Promise<void>;
}

/** A small seeded PRNG (mulberry32): the same seed, the same schedule. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts a proxy in front of `options.upstream`. */
export function startFaultProxy(options: FaultProxyOptions): FaultProxy {
  const [host, port] = splitHostPort(options.upstream);
  const random = seededRandom(options.seed);
  const faults = options.faults ?? ALL_FAULTS;
  const maxDelayMs = options.maxDelayMs ?? 300;
  const counts = Object.fromEntries(
    ["pass", ...ALL_FAULTS].map((f) => [f, 0]),
  ) as Record<Fault, number>;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const inFlight = new Set<Promise<void>>();

  const draw = (): { fault: Fault; delayMs: number } => {
    const hit = random() < options.rate;
    const pick = random();
    const delayMs = Math.round(random() * maxDelayMs);
    const fault = hit && faults.length > 0 ? faults[Math.floor(pick * faults.length)] : "pass";
    return { fault, delayMs };
  };

  const serve = async (client: Deno.Conn) => {
    try {
      const request = await readRequest(client);
      if (!request) return;
      const { fault, delayMs } = draw();
      counts[fault]++;
      if (fault === "drop-before") return;
      if (fault === "status-500" || fault === "status-503") {
        await writeAll(client, errorAnswer(fault === "status-500" ? 500 : 503));
        return;
      }
      if (fault === "delay") await new Promise((r) => setTimeout(r, delayMs));
      const answer = await forward(host, port, request);
      if (fault === "drop-after") return;
      if (fault === "cut-body") {
        await writeAll(client, cutShort(answer));
        return;
      }
      await writeAll(client, answer);
    } catch {
      // A client that went away, or a server that did: the client sees a closed connection.
    } finally {
      try {
        client.close();
      } catch { /* already closed */ }
    }
  };

  const accepting = (async () => {
    for await (const conn of listener) {
      const p = serve(conn);
      inFlight.add(p);
      p.finally(() => inFlight.delete(p));
    }
  })().catch(() => {});

  const { port: ownPort } = listener.addr as Deno.NetAddr;
  const close = async () => {
    try {
      listener.close();
    } catch { /* closed */ }
    await accepting;
    await Promise.all(inFlight);
  };
  return {
    endpoint: `http://127.0.0.1:${ownPort}`,
    counts,
    close,
    [Symbol.asyncDispose]: close,
  };
}

function splitHostPort(hostPort: string): [string, number] {
  const at = hostPort.lastIndexOf(":");
  return [hostPort.slice(0, at), Number(hostPort.slice(at + 1))];
}

const CRLF2 = new Uint8Array([13, 10, 13, 10]);

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Reads one request (head and a Content-Length body) and returns it with
 * its Connection header replaced by `Connection: close`; undefined when the
 * client closed first.
 */
async function readRequest(conn: Deno.Conn): Promise<Uint8Array | undefined> {
  let buf: Uint8Array = new Uint8Array(0);
  const buffer = new Uint8Array(64 * 1024);
  let headEnd = -1;
  while (headEnd < 0) {
    const n = await conn.read(buffer);
    if (n === null) return undefined;
    buf = concatBytes([buf, buffer.subarray(0, n)]);
    headEnd = indexOf(buf, CRLF2, Math.max(0, buf.length - n - 3));
  }
  const head = new TextDecoder().decode(buf.subarray(0, headEnd));
  const lines = head.split("\r\n");
  const length = Number(
    lines.find((l) => /^content-length:/i.test(l))?.split(":")[1]?.trim() ?? 0,
  );
  const parts = [buf.subarray(headEnd + 4)];
  let have = parts[0].length;
  while (have < length) {
    const n = await conn.read(buffer);
    if (n === null) return undefined;
    parts.push(buffer.slice(0, n));
    have += n;
  }
  const kept = lines.filter((l) => !/^(connection|keep-alive):/i.test(l));
  const newHead = new TextEncoder().encode(kept.join("\r\n") + "\r\nConnection: close\r\n\r\n");
  return concatBytes([newHead, ...parts]);
}

/** Sends one request to the server and reads its whole answer (it closes after it). */
async function forward(host: string, port: number, request: Uint8Array): Promise<Uint8Array> {
  const conn = await Deno.connect({ hostname: host, port });
  try {
    await writeAll(conn, request);
    const parts: Uint8Array[] = [];
    const buffer = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      parts.push(buffer.slice(0, n));
    }
    return concatBytes(parts);
  } finally {
    conn.close();
  }
}

/** The answer's head and half its body (an answer without a body is cut after its head). */
function cutShort(answer: Uint8Array): Uint8Array {
  const headEnd = indexOf(answer, CRLF2);
  if (headEnd < 0) return answer.subarray(0, Math.floor(answer.length / 2));
  const body = answer.length - (headEnd + 4);
  return answer.subarray(0, headEnd + 4 + Math.floor(body / 2));
}

function errorAnswer(status: 500 | 503): Uint8Array {
  const [reason, code] = status === 500
    ? ["Internal Server Error", "InternalError"]
    : ["Service Unavailable", "SlowDown"];
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code>` +
    `<Message>injected by the fault proxy</Message></Error>`;
  return new TextEncoder().encode(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/xml\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}
