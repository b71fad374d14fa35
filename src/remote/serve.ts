/**
 * `cairn serve`: a small reference endpoint for a fleet of agents.
 *
 * It serves `DIR/{host}.toml` and `DIR/{host}.toml.sig` (signed beforehand
 * with `cairn sign`; this server holds no signing key, so a compromise of it
 * cannot forge jobs), accepts run reports, and shows each host's last results.
 * URL layout (also servable by any static server; see `docs/REMOTE.md`):
 *
 * - `GET  /v1/agents/{host}/jobs.toml`     → `DIR/{host}.toml`, with ETag
 * - `GET  /v1/agents/{host}/jobs.toml.sig` → `DIR/{host}.toml.sig`
 * - `POST /v1/agents/{host}/reports`       → appended to `DIR/reports/{host}.jsonl`
 * - `GET  /v1/status`                      → JSON: host → job → last report
 */

import { join } from "node:path";
import { readBounded, TooLargeError } from "./_http.ts";
import { serveLimited, type ServerLimits } from "../http/mod.ts";
import { pickReport, reportProblem, type RunReport } from "./report.ts";

/** Settings for {@link serveFleet}. */
export interface ServeFleetOptions {
  /** Directory of `{host}.toml` and `{host}.toml.sig` files. */
  jobsDir: string;
  /** Default 127.0.0.1:8080; port 0 picks a free port. */
  listen?: { hostname?: string; port?: number };
  /**
   * File of `host token` lines. When given, every agent request must carry
   * its host's bearer token; without it the endpoint is open (loopback use).
   */
  tokensFile?: string;
  /** Largest report body accepted; default 64 KiB. */
  maxReportBytes?: number;
  /**
   * Time limits on request heads, bodies and responses, and the cap on open
   * connections (defaults: 10 s, 30 s, 30 s, 256). A client that sends half a
   * request is closed when its limit passes, however slowly it dribbles.
   */
  limits?: Omit<ServerLimits, "maxBodyBytes">;
  signal?: AbortSignal;
  /** Receives one line per notable event; default `console.error`. */
  log?: (line: string) => void;
}

/** A running fleet endpoint. */
export interface FleetServer {
  addr: Deno.NetAddr;
  /** Settles when the server has shut down (after `signal` aborts). */
  finished: Promise<void>;
}

/** A stored report with the time the server received it. */
export type ReceivedReport = RunReport & { received: string };

const HOST_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,252}$/;
const AGENT_RE = /^\/v1\/agents\/([^/]+)\/(jobs\.toml|jobs\.toml\.sig|reports)$/;

/** Starts the reference fleet endpoint (with the limits of `http/server.ts`). */
export async function serveFleet(options: ServeFleetOptions): Promise<FleetServer> {
  const log = options.log ?? console.error;
  const tokens = options.tokensFile ? await loadTokens(options.tokensFile) : undefined;
  if (!tokens) log("serve: no tokens file, agent requests are not authenticated");
  const last = await loadLastReports(join(options.jobsDir, "reports"));
  const maxReport = options.maxReportBytes ?? 64 << 10;

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/v1/status") {
      if (req.method !== "GET") return text(405, "method not allowed");
      return json(200, { hosts: statusObject(last) });
    }
    const m = AGENT_RE.exec(url.pathname);
    if (!m) return text(404, "not found");
    const [, host, what] = m;
    if (!HOST_RE.test(host)) return text(400, "invalid host name");
    if (tokens && !await tokenMatches(req, tokens.get(host))) {
      log(`serve: ${host}: rejected request without a valid token`);
      return text(401, "unauthorized", { "www-authenticate": "Bearer" });
    }
    if (what === "reports") {
      if (req.method !== "POST") return text(405, "method not allowed");
      return await acceptReport(req, host);
    }
    if (req.method !== "GET") return text(405, "method not allowed");
    const file = join(options.jobsDir, what === "jobs.toml" ? `${host}.toml` : `${host}.toml.sig`);
    return await serveFile(req, file);
  };

  const acceptReport = async (req: Request, host: string): Promise<Response> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(await readBounded(req, maxReport, "report")));
    } catch (err) {
      if (err instanceof TooLargeError) return text(413, err.message);
      return text(400, "report is not JSON");
    }
    const why = reportProblem(parsed);
    if (why) return text(400, why);
    const report = pickReport(parsed as RunReport);
    if (report.host !== host) return text(400, `report.host "${report.host}" is not ${host}`);
    const stored: ReceivedReport = { ...report, received: new Date().toISOString() };
    const dir = join(options.jobsDir, "reports");
    await Deno.mkdir(dir, { recursive: true });
    // One short line per write with O_APPEND, so concurrent reports never interleave.
    await Deno.writeTextFile(join(dir, `${host}.jsonl`), JSON.stringify(stored) + "\n", {
      append: true,
    });
    remember(last, stored);
    return json(201, { ok: true });
  };

  const listen = {
    hostname: options.listen?.hostname ?? "127.0.0.1",
    port: options.listen?.port ?? 8080,
  };
  const server = serveLimited({
    ...options.limits,
    ...listen,
    maxBodyBytes: maxReport,
    signal: options.signal,
    onError: (err) => {
      log(`serve: ${(err as Error).message?.split("\n")[0]}`);
      return text(500, "internal error");
    },
    onLimit: (open) => log(`serve: ${open} connections open, refusing more until one closes`),
    onAcceptError: (err) => log(`serve: accept: ${(err as Error).message?.split("\n")[0]}`),
  }, handler);
  return server;
}

async function serveFile(req: Request, path: string): Promise<Response> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return text(404, "not found");
    throw err;
  }
  const etag = `"${await sha256Hex(bytes)}"`;
  const headers = {
    etag,
    "cache-control": "no-cache",
    "content-type": path.endsWith(".sig") ? "text/plain; charset=utf-8" : "application/toml",
  };
  if (etagMatches(req.headers.get("if-none-match"), etag)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(bytes, { status: 200, headers });
}

/** If-None-Match uses weak comparison (RFC 9110 §13.1.2): `W/` is ignored. */
function etagMatches(header: string | null, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag.replace(/^W\//, "") === etag;
  });
}

/** Reads `host token` lines; `#` starts a comment. */
export async function loadTokens(path: string): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  const lines = (await Deno.readTextFile(path)).split(/\r?\n/);
  lines.forEach((line, i) => {
    const t = line.replace(/#.*/, "").trim();
    if (t === "") return;
    const parts = t.split(/\s+/);
    if (parts.length !== 2 || !HOST_RE.test(parts[0])) {
      throw new TypeError(`Invalid tokens file "${path}" line ${i + 1}: expected "host token"`);
    }
    tokens.set(parts[0], parts[1]);
  });
  return tokens;
}

/** Compares in constant time by comparing fixed-length digests of both tokens. */
async function tokenMatches(req: Request, expected: string | undefined): Promise<boolean> {
  const m = /^Bearer (\S+)$/.exec(req.headers.get("authorization") ?? "");
  if (!m || expected === undefined) return false;
  const [a, b] = await Promise.all([sha256(m[1]), sha256(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

async function loadLastReports(dir: string): Promise<Map<string, Map<string, ReceivedReport>>> {
  const last = new Map<string, Map<string, ReceivedReport>>();
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".jsonl")) continue;
      for (const line of (await Deno.readTextFile(join(dir, entry.name))).split("\n")) {
        try {
          const r = JSON.parse(line);
          if (!reportProblem(r)) remember(last, { ...pickReport(r), received: String(r.received) });
        } catch {
          // A torn last line after a crash: skip it, the rest is still good.
        }
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return last;
}

function remember(last: Map<string, Map<string, ReceivedReport>>, r: ReceivedReport): void {
  let jobs = last.get(r.host);
  if (!jobs) last.set(r.host, jobs = new Map());
  jobs.set(r.job, r);
}

function statusObject(
  last: Map<string, Map<string, ReceivedReport>>,
): Record<string, Record<string, ReceivedReport>> {
  const out: Record<string, Record<string, ReceivedReport>> = {};
  for (const host of [...last.keys()].sort()) {
    const jobs = last.get(host)!;
    out[host] = Object.fromEntries([...jobs.keys()].sort().map((j) => [j, jobs.get(j)!]));
  }
  return out;
}

async function sha256(s: string | Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const bytes = typeof s === "string" ? new TextEncoder().encode(s) : s;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return (await sha256(bytes)).toHex();
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json" },
  });
}
