/**
 * A small HTTP/1.1 server for `cairn serve` and `cairn ui` with the limits
 * `Deno.serve` lacks: a time limit on the request head and on the body, and a cap on open
 * connections. With `Deno.serve`, 2,000 clients that sent half a request and
 * then one byte now and then all stayed open; here each is closed when its
 * limit passes, however it dribbles, and connections past the cap are refused
 * at once.
 *
 * It is deliberately strict and small, which is all the fleet endpoint needs:
 * one request per connection (every response says `connection: close`), a
 * body only with `Content-Length` (no chunked uploads: 411), heads of at most
 * 16 KiB. The handler is an ordinary `(Request) => Response`.
 *
 * No request can hold its connection (or the server's shutdown) forever: the
 * handler has a time limit too (503 past it, and `req.signal` aborts, as it
 * does when the connection ends), and so has each chunk a streamed body yields.
 *
 * A response is buffered and sent with its length, unless the handler says
 * how it is to be streamed: with a `content-length` header its body is
 * streamed chunk by chunk and must have exactly that length, and with
 * `transfer-encoding: chunked` it is sent in HTTP chunks. A streamed body
 * is never held whole (a 4 GiB download costs a chunk of memory), and the
 * response time limit then applies to each chunk's write, not to the whole.
 * An answer to HEAD keeps the handler's `content-length`.
 *
 * @module
 */

/** Limits of {@link serveLimited}; each is injectable so tests can use small ones. */
export interface ServerLimits {
  /** Time from accepting a connection to the end of the request head. Default 10 s. */
  headerTimeoutMs?: number;
  /** Time to receive the whole body once the head is in. Default 30 s. */
  bodyTimeoutMs?: number;
  /** Time to write the whole response (a streamed one: each chunk, also to produce it). Default 30 s. */
  responseTimeoutMs?: number;
  /** Time for the handler to return its response; past it, 503 and `req.signal` aborts. Default 60 s. */
  handlerTimeoutMs?: number;
  /** Connections open at once; more are answered 503 and closed. Default 256. */
  maxConnections?: number;
  /** Largest request head. Default 16 KiB. */
  maxHeaderBytes?: number;
  /** Largest body; a larger Content-Length is answered 413 unread. Default 1 MiB. */
  maxBodyBytes?: number;
}

/** Settings of {@link serveLimited}. */
export interface LimitedServerOptions extends ServerLimits {
  hostname: string;
  port: number;
  signal?: AbortSignal;
  /** Turns a handler exception into a response. */
  onError: (err: unknown) => Response;
  /** Called once, when the connection cap is reached (until it is free again). */
  onLimit?: (open: number) => void;
  /** Called when accepting a connection fails (the server goes on). */
  onAcceptError?: (err: unknown) => void;
}

/** A running server. */
export interface LimitedServer {
  addr: Deno.NetAddr;
  /** Settles when the server has shut down (after `signal` aborts). */
  finished: Promise<void>;
}

const TIMEOUT = Symbol("timeout");
const HEAD_END = new Uint8Array([13, 10, 13, 10]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const REASONS: Record<number, string> = {
  100: "Continue",
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "No Content",
  206: "Partial Content",
  207: "Multi-Status",
  301: "Moved Permanently",
  303: "See Other",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/** Serves `handler` on `hostname:port` within the limits. */
export function serveLimited(
  options: LimitedServerOptions,
  handler: (req: Request) => Response | Promise<Response>,
): LimitedServer {
  const limits = {
    header: options.headerTimeoutMs ?? 10_000,
    body: options.bodyTimeoutMs ?? 30_000,
    response: options.responseTimeoutMs ?? 30_000,
    handler: options.handlerTimeoutMs ?? 60_000,
    connections: options.maxConnections ?? 256,
    headBytes: options.maxHeaderBytes ?? 16 << 10,
    bodyBytes: options.maxBodyBytes ?? 1 << 20,
  };
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const addr = listener.addr as Deno.NetAddr;
  const base = `http://${
    addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname
  }:${addr.port}`;
  const open = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let full = false;
  let stopped = false;
  const stop = () => {
    stopped = true;
    listener.close();
    for (const conn of open) closeQuietly(conn);
  };
  options.signal?.addEventListener("abort", stop, { once: true });

  const serveConn = async (conn: Deno.Conn) => {
    // The request's signal: aborted when its handler runs out of time or the connection ends.
    const ac = new AbortController();
    try {
      const res = await readAndHandle(conn, limits, base, handler, options.onError, ac);
      if (res) await respond(conn, res, limits.response);
    } catch {
      // A connection reset or closed at shutdown: nothing to answer.
    } finally {
      ac.abort(new DOMException("the connection has ended", "AbortError"));
      // Forget it before closing, so a client that sees the close can count on the slot.
      open.delete(conn);
      if (open.size < limits.connections) full = false;
      closeQuietly(conn);
    }
  };

  const accepting = (async () => {
    while (!stopped) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (stopped) return;
        // Out of file descriptors, say: wait a moment rather than stop serving.
        options.onAcceptError?.(err);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (stopped) {
        closeQuietly(conn);
        return;
      }
      if (open.size >= limits.connections) {
        if (!full) options.onLimit?.(open.size);
        full = true;
        // A short answer fits the socket buffer: no read, no wait.
        conn.write(encodeHead(503, new Headers(), 0)).catch(() => {}).finally(() =>
          closeQuietly(conn)
        );
        continue;
      }
      open.add(conn);
      const task = serveConn(conn);
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })();

  const finished = (async () => {
    await accepting;
    await Promise.allSettled([...tasks]);
  })();
  if (options.signal?.aborted) stop();
  return { addr, finished };
}

interface Limits {
  header: number;
  body: number;
  handler: number;
  headBytes: number;
  bodyBytes: number;
}

/** Reads one request within the limits and runs the handler; undefined: just close. */
async function readAndHandle(
  conn: Deno.Conn,
  limits: Limits,
  base: string,
  handler: (req: Request) => Response | Promise<Response>,
  onError: (err: unknown) => Response,
  ac: AbortController,
): Promise<Response | undefined> {
  const headDeadline = Date.now() + limits.header;
  // Read in place: a client sending its head a byte at a time costs one copy
  // of each byte, not a copy of the whole head per byte.
  const buf = new Uint8Array(limits.headBytes + HEAD_END.length);
  let len = 0;
  let end = -1;
  while (end < 0) {
    if (len === buf.length) return plain(431, "request head too large");
    const n = await readBefore(conn, buf.subarray(len), headDeadline);
    if (n === TIMEOUT) return plain(408, "request head not received in time");
    if (n === null) return undefined;
    const from = Math.max(0, len - HEAD_END.length + 1);
    len += n;
    end = indexOf(buf.subarray(0, len), HEAD_END, from);
  }
  if (end > limits.headBytes) return plain(431, "request head too large");
  const head = parseHead(new TextDecoder().decode(buf.subarray(0, end)));
  if (typeof head === "string") return plain(400, head);
  if (head.headers.has("transfer-encoding")) return plain(411, "send a Content-Length");
  const length = contentLength(head.headers);
  if (length === undefined) return plain(400, "invalid Content-Length");
  if (length > limits.bodyBytes) return plain(413, `body exceeds ${limits.bodyBytes} bytes`);

  const body = new Uint8Array(length);
  const early = buf.subarray(end + HEAD_END.length, Math.min(len, end + HEAD_END.length + length));
  body.set(early);
  let got = early.length;
  if (got < length && /^100-continue$/i.test(head.headers.get("expect") ?? "")) {
    await conn.write(new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  const bodyDeadline = Date.now() + limits.body;
  while (got < length) {
    const n = await readBefore(conn, body.subarray(got), bodyDeadline);
    if (n === TIMEOUT) return plain(408, "request body not received in time");
    if (n === null) return undefined;
    got += n;
  }
  let req: Request;
  try {
    const withBody = head.method !== "GET" && head.method !== "HEAD";
    req = new Request(base + head.target, {
      method: head.method,
      headers: head.headers,
      body: withBody ? body : undefined,
      signal: ac.signal,
    });
  } catch {
    return plain(400, "invalid request");
  }
  let res: Response;
  try {
    const answer = Promise.resolve().then(() => handler(req));
    const got = await before(answer, Date.now() + limits.handler);
    if (got === TIMEOUT) {
      ac.abort(new DOMException("the handler ran out of time", "TimeoutError"));
      // A response that comes after all is never read: release its body.
      answer.then((late) => late.body?.cancel()).catch(() => {});
      return plain(503, "the server took too long to answer; try again");
    }
    res = got;
  } catch (err) {
    res = onError(err);
  }
  if (head.method !== "HEAD") return res;
  await res.body?.cancel();
  return new Response(null, { status: res.status, headers: res.headers });
}

interface Head {
  method: string;
  target: string;
  headers: Headers;
}

function parseHead(text: string): Head | string {
  const lines = text.split("\r\n");
  const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\/\S*) HTTP\/1\.[01]$/.exec(lines[0]);
  if (!m) return "invalid request line";
  const headers = new Headers();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon);
    // No obs-fold continuation lines, no space before the colon (RFC 9112 §5).
    if (colon <= 0 || !TOKEN.test(name)) return "invalid header line";
    try {
      headers.append(name, line.slice(colon + 1).trim());
    } catch {
      return "invalid header value";
    }
  }
  return { method: m[1], target: m[2], headers };
}

/** The body length: 0 without the header; undefined when invalid or ambiguous. */
function contentLength(headers: Headers): number | undefined {
  const v = headers.get("content-length");
  if (v === null) return 0;
  // Repeated headers arrive joined by ", ": equal values are allowed, others are smuggling.
  const values = new Set(v.split(",").map((s) => s.trim()));
  if (values.size !== 1) return undefined;
  const [only] = values;
  return /^\d{1,15}$/.test(only) ? Number(only) : undefined;
}

async function respond(conn: Deno.Conn, res: Response, timeoutMs: number): Promise<void> {
  const declared = res.headers.get("content-length");
  const length = declared !== null && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined;
  if (!res.body) {
    // A HEAD answer (or a bodiless one) says the length the body would have.
    await writeBefore(
      conn,
      encodeHead(res.status, res.headers, length ?? 0),
      Date.now() + timeoutMs,
    );
    return;
  }
  const chunked = /^chunked$/i.test(res.headers.get("transfer-encoding") ?? "");
  if (length === undefined && !chunked) {
    const deadline = Date.now() + timeoutMs;
    const buffered = await before(res.arrayBuffer(), deadline);
    if (buffered === TIMEOUT) {
      res.body.cancel().catch(() => {});
      return;
    }
    const body = new Uint8Array(buffered);
    if (await writeBefore(conn, encodeHead(res.status, res.headers, body.length), deadline)) {
      await writeBefore(conn, body, deadline);
    }
    return;
  }
  const reader = res.body.getReader();
  try {
    const first = encodeHead(res.status, res.headers, length, chunked && length === undefined);
    if (!(await writeBefore(conn, first, Date.now() + timeoutMs))) return;
    let sent = 0;
    while (true) {
      // A body that stops yielding is cut short like a client that stops reading.
      const chunk = await before(reader.read(), Date.now() + timeoutMs);
      if (chunk === TIMEOUT) return;
      const { done, value } = chunk;
      if (done) break;
      if (value.length === 0) continue;
      let out: Uint8Array = value;
      if (length !== undefined) {
        // Never more than was announced: the connection then closes short.
        out = value.subarray(0, Math.max(0, length - sent));
        sent += out.length;
      } else {
        out = frame(value);
      }
      if (out.length > 0 && !(await writeBefore(conn, out, Date.now() + timeoutMs))) return;
      if (length !== undefined && sent >= length) return;
    }
    // A chunked body ends with a zero chunk; one cut short (an error, a
    // timeout) does not, so the client knows it is incomplete.
    if (length === undefined) await writeBefore(conn, CHUNKED_END, Date.now() + timeoutMs);
  } finally {
    reader.cancel().catch(() => {});
  }
}

const CHUNKED_END = new TextEncoder().encode("0\r\n\r\n");

function frame(data: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(data.length.toString(16) + "\r\n");
  const out = new Uint8Array(head.length + data.length + 2);
  out.set(head);
  out.set(data, head.length);
  out.set([13, 10], head.length + data.length);
  return out;
}

/** The status line and headers; `length` undefined: none (chunked or a 304/204). */
function encodeHead(
  status: number,
  headers: Headers,
  length: number | undefined,
  chunked = false,
): Uint8Array {
  let text = `HTTP/1.1 ${status} ${REASONS[status] || ""}\r\n`;
  headers.forEach((value, name) => {
    if (!["content-length", "transfer-encoding", "connection"].includes(name)) {
      text += `${name}: ${value}\r\n`;
    }
  });
  // 304 and 204 carry no body, and no Content-Length that would claim one.
  if (chunked) text += "transfer-encoding: chunked\r\n";
  else if (status !== 304 && status !== 204 && length !== undefined) {
    text += `content-length: ${length}\r\n`;
  }
  text += "connection: close\r\n\r\n";
  return new TextEncoder().encode(text);
}

function plain(status: number, text: string): Response {
  return new Response(text + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** One read into `into`, or TIMEOUT when `deadline` passes first (the read is then abandoned). */
function readBefore(
  conn: Deno.Conn,
  into: Uint8Array,
  deadline: number,
): Promise<number | null | typeof TIMEOUT> {
  return before(conn.read(into), deadline);
}

/** Writes all of `data` before `deadline`; false when the deadline passed first. */
async function writeBefore(conn: Deno.Conn, data: Uint8Array, deadline: number): Promise<boolean> {
  let off = 0;
  while (off < data.length) {
    const n = await before(conn.write(data.subarray(off)), deadline);
    if (n === TIMEOUT) return false;
    off += n;
  }
  return true;
}

async function before<T>(op: Promise<T>, deadline: number): Promise<T | typeof TIMEOUT> {
  const ms = deadline - Date.now();
  if (ms <= 0) {
    op.catch(() => {});
    return TIMEOUT;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT), ms);
  });
  try {
    return await Promise.race([op, expired]);
  } finally {
    clearTimeout(timer);
    op.catch(() => {}); // an abandoned read fails when the connection closes
  }
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
