/**
 * `cairn ui`: a local web server over one repository. It binds to loopback
 * unless told otherwise, and refuses every request that does not carry its
 * random token (see `auth.ts`). Pages and scripts are part of the binary
 * (`_assets.ts`); the JSON API is `api.ts`, WebDAV `dav.ts`. Nothing in the
 * repository is changed: the one write is a restore the user asks for.
 */
import { serveLimited } from "../http/mod.ts";
import type { SnapshotWithId } from "../repo/mod.ts";
import { ASSETS } from "./_assets.ts";
import { ApiError, handleApi } from "./api.ts";
import { newToken, tokenCookie, tokenSource } from "./auth.ts";
import { DAV_PREFIX, handleDav } from "./dav.ts";
import { Restores } from "./restores.ts";
import type { UiRepo } from "./ui_repo.ts";

export interface UiOptions {
  repo: UiRepo;
  /** Default 127.0.0.1, port 0 (any free port). */
  hostname?: string;
  port?: number;
  /** The token; default a new random one. */
  token?: string;
  signal?: AbortSignal;
  /** A line for the log (errors answered 500). */
  log?: (line: string) => void;
  /** How long the snapshot list is reused before it is read again. Default 5 s. */
  snapshotCacheMs?: number;
}

/** A running `cairn ui`. */
export interface UiServer {
  addr: Deno.NetAddr;
  token: string;
  /** The URL to open: `http://127.0.0.1:PORT/?token=...`. */
  url: string;
  /** Settles when the server and every restore it started have stopped. */
  finished: Promise<void>;
}

/** Headers on every answer: nothing cached, framed, sniffed or referred elsewhere. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** Starts the server. */
export function startUi(options: UiOptions): UiServer {
  const token = options.token ?? newToken();
  const headers = { ...SECURITY_HEADERS };
  const log = options.log ?? (() => {});
  const cacheMs = options.snapshotCacheMs ?? 5000;
  let cached: { at: number; list: Promise<SnapshotWithId[]> } | undefined;
  const snapshots = () => {
    if (!cached || Date.now() - cached.at > cacheMs) {
      const list = options.repo.listSnapshots();
      list.catch(() => (cached = undefined));
      cached = { at: Date.now(), list };
    }
    return cached.list;
  };
  const restores = new Restores(options.repo, options.signal);
  const server = serveLimited({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    signal: options.signal,
    // A download streams for as long as it takes; each chunk must go out in this time.
    responseTimeoutMs: 120_000,
    // A search or diff across many large snapshots may take minutes before it answers.
    handlerTimeoutMs: 600_000,
    maxBodyBytes: 64 << 10,
    onError: (err) => {
      log(`error: ${(err as Error).message}`);
      return text(500, "internal error; see the server's log", headers);
    },
  }, async (req) => {
    const url = new URL(req.url);
    const how = tokenSource(req, token);
    if (!how) {
      return text(401, "this needs the token cairn ui printed (the URL's ?token=...)", {
        ...headers,
        "www-authenticate": `Basic realm="cairn ui (password: the token)", charset="UTF-8"`,
      });
    }
    // A cross-site page cannot send the cookie (SameSite=Strict), nor forge the origin.
    const origin = req.headers.get("origin");
    if (req.method === "POST" && origin !== null && origin !== url.origin) {
      return text(403, "cross-origin request refused", headers);
    }
    if (url.pathname === DAV_PREFIX || url.pathname.startsWith(DAV_PREFIX + "/")) {
      return await handleDav(req, options.repo, snapshots, headers);
    }
    if (how === "query" && (req.method === "GET" || req.method === "HEAD")) {
      // Trade the token in the address for a cookie, and drop it from the address bar.
      url.searchParams.delete("token");
      return new Response(null, {
        status: 303,
        headers: {
          ...headers,
          location: url.pathname + url.search,
          "set-cookie": tokenCookie(token),
        },
      });
    }
    if (url.pathname.startsWith("/api/")) {
      try {
        return await handleApi(req, { repo: options.repo, snapshots, restores, headers });
      } catch (err) {
        if (err instanceof ApiError) {
          return new Response(JSON.stringify({ error: err.message }), {
            status: err.status,
            headers: { ...headers, "content-type": "application/json; charset=utf-8" },
          });
        }
        throw err;
      }
    }
    const asset = ASSETS[url.pathname === "/" ? "/index.html" : url.pathname];
    if (!asset || (req.method !== "GET" && req.method !== "HEAD")) {
      return text(asset ? 405 : 404, asset ? "method not allowed" : "not found", headers);
    }
    return new Response(asset.body, { headers: { ...headers, "content-type": asset.type } });
  });
  const { hostname, port } = server.addr;
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return {
    addr: server.addr,
    token,
    url: `http://${host}:${port}/?token=${token}`,
    finished: server.finished.then(() => restores.settled()),
  };
}

function text(status: number, body: string, headers: Record<string, string>): Response {
  return new Response(body + "\n", {
    status,
    headers: { ...headers, "content-type": "text/plain; charset=utf-8" },
  });
}
