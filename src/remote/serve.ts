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
 * - `POST /v1/agents/{host}/heartbeat`     → kept in `DIR/reports/{host}.poll.json`
 * - `GET  /v1/status`                      → JSON: host → job → last report
 * - `GET  /`, `GET /host/{host}`           → the dashboard pages (`_dashboard.ts`)
 * - `GET  /metrics`                        → Prometheus text (`_fleet_metrics.ts`)
 *
 * The pages, `/metrics` and `/v1/status` are read-only and, with a dashboard
 * token, need it (HTTP Basic with the token as password, or Bearer); on an
 * address other than loopback the server refuses to start without one.
 */

import { join } from "node:path";
import { writeFileAtomic } from "../fs/mod.ts";
import { readBounded, TooLargeError } from "./_http.ts";
import { serveLimited, type ServerLimits } from "../http/mod.ts";
import { FleetState, type ReceivedHeartbeat } from "./_fleet_view.ts";
import { pageHandler, withSecurityHeaders } from "./_pages.ts";
import { json, text } from "./_responses.ts";
import { sameSecret } from "./_secret.ts";
import { heartbeatProblem, pickHeartbeat } from "./heartbeat.ts";
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
  /**
   * File holding the token (or password) for the pages, `/metrics` and
   * `/v1/status`. Required unless `listen` is a loopback address.
   */
  dashboardTokenFile?: string;
  /** Seconds between dashboard refreshes; default 30. */
  refreshSeconds?: number;
  /** Clock, for tests (ms since the epoch). */
  now?: () => number;
  /** Largest report body accepted; default 64 KiB. */
  maxReportBytes?: number;
  /**
   * Time limits on request heads, bodies, handlers and responses, and the cap
   * on open connections (defaults: 10 s, 30 s, 60 s, 30 s, 256). A client that
   * sends half a request is closed when its limit passes, however slowly it dribbles.
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
const AGENT_RE = /^\/v1\/agents\/([^/]+)\/(jobs\.toml|jobs\.toml\.sig|reports|heartbeat)$/;
const POLL_FILE = ".poll.json";

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ||
    /^::ffff:127\./.test(h);
}

/** Thrown by {@link serveFleet} for settings that would expose the pages. */
export class UnsafeListenError extends Error {
  override name = "UnsafeListenError";
}

/** Starts the reference fleet endpoint (with the limits of `http/server.ts`). */
export async function serveFleet(options: ServeFleetOptions): Promise<FleetServer> {
  const log = options.log ?? console.error;
  const now = options.now ?? Date.now;
  const listen = {
    hostname: options.listen?.hostname ?? "127.0.0.1",
    port: options.listen?.port ?? 8080,
  };
  const pageToken = options.dashboardTokenFile
    ? await loadDashboardToken(options.dashboardTokenFile)
    : undefined;
  if (!pageToken && !isLoopback(listen.hostname)) {
    throw new UnsafeListenError(
      `listening on ${listen.hostname} (not loopback) needs a dashboard token file: the pages would be open to anyone`,
    );
  }
  const tokens = options.tokensFile ? await loadTokens(options.tokensFile) : undefined;
  if (!tokens) log("serve: no tokens file, agent requests are not authenticated");
  const reportsDir = join(options.jobsDir, "reports");
  const fleet = await loadFleet(reportsDir);
  const maxReport = options.maxReportBytes ?? 64 << 10;
  const refreshSeconds = options.refreshSeconds ?? 30;

  const pages = pageHandler(fleet, { pageToken, refreshSeconds, now });

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const page = await pages(req, url);
    if (page) return page;
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
    if (what === "heartbeat") {
      if (req.method !== "POST") return text(405, "method not allowed");
      return await acceptHeartbeat(req, host);
    }
    if (req.method !== "GET") return text(405, "method not allowed");
    // A fetch of the document is a poll, also from agents that send no heartbeat.
    if (what === "jobs.toml") await recordPoll(host);
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
    fleet.addReport(stored);
    return json(201, { ok: true });
  };

  const acceptHeartbeat = async (req: Request, host: string): Promise<Response> => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(await readBounded(req, maxReport, "heartbeat")));
    } catch (err) {
      if (err instanceof TooLargeError) return text(413, err.message);
      return text(400, "heartbeat is not JSON");
    }
    const why = heartbeatProblem(parsed);
    if (why) return text(400, why);
    const hb = pickHeartbeat(parsed as ReceivedHeartbeat);
    if (hb.host !== host) return text(400, `heartbeat.host "${hb.host}" is not ${host}`);
    fleet.addHeartbeat({ ...hb, received: new Date(now()).toISOString() });
    await savePoll(host);
    return json(201, { ok: true });
  };

  const recordPoll = async (host: string) => {
    fleet.addPoll(host, now());
    await savePoll(host);
  };

  /** Keeps the last poll and heartbeat across restarts, replaced atomically. */
  const savePoll = async (host: string) => {
    const h = fleet.hosts.get(host);
    if (!h) return;
    await Deno.mkdir(reportsDir, { recursive: true });
    const saved: SavedPoll = { lastPoll: h.lastPoll, heartbeat: h.heartbeat };
    await writeFileAtomic(join(reportsDir, host + POLL_FILE), JSON.stringify(saved) + "\n");
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
  }, async (req) => withSecurityHeaders(await handler(req)));
  return server;
}

interface SavedPoll {
  lastPoll?: number;
  heartbeat?: ReceivedHeartbeat;
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

/** The dashboard token: the file's first line, trimmed; an empty one is refused. */
async function loadDashboardToken(path: string): Promise<string> {
  const token = (await Deno.readTextFile(path)).split(/\r?\n/)[0].trim();
  if (token === "") throw new TypeError(`Dashboard token file "${path}" is empty`);
  return token;
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
  return await sameSecret(m[1], expected);
}

/** The fleet from the stored reports and polls (every line, so the history is there too). */
async function loadFleet(dir: string): Promise<FleetState> {
  const fleet = new FleetState();
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile) continue;
      const path = join(dir, entry.name);
      if (entry.name.endsWith(POLL_FILE)) {
        try {
          const saved = JSON.parse(await Deno.readTextFile(path)) as SavedPoll;
          const host = entry.name.slice(0, -POLL_FILE.length);
          const hb = saved.heartbeat;
          if (hb && !heartbeatProblem(hb) && hb.host === host && !isNaN(Date.parse(hb.received))) {
            fleet.addHeartbeat({ ...pickHeartbeat(hb), received: hb.received });
          }
          if (typeof saved.lastPoll === "number") fleet.addPoll(host, saved.lastPoll);
        } catch {
          // A damaged poll file only loses the last poll time: the next poll rewrites it.
        }
        continue;
      }
      if (!entry.name.endsWith(".jsonl")) continue;
      for (const line of (await Deno.readTextFile(path)).split("\n")) {
        try {
          const r = JSON.parse(line);
          if (!reportProblem(r)) {
            fleet.addReport({ ...pickReport(r), received: String(r.received) });
          }
        } catch {
          // A torn last line after a crash: skip it, the rest is still good.
        }
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return fleet;
}

async function sha256(s: string | Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const bytes = typeof s === "string" ? new TextEncoder().encode(s) : s;
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return (await sha256(bytes)).toHex();
}
