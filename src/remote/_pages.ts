/**
 * The read-only side of `cairn serve`: the dashboard (`/`), host pages
 * (`/host/NAME`), `/metrics` and `/v1/status`, behind the dashboard token
 * when one is set, and the security headers every response carries.
 *
 * @module
 */

import { renderDashboard, renderHostPage } from "./_dashboard.ts";
import { STYLE_HASH } from "./_dashboard_style.ts";
import { renderFleetMetrics } from "./_fleet_metrics.ts";
import { type FleetState, viewFleet } from "./_fleet_view.ts";
import { html, json, text } from "./_responses.ts";
import { sameSecret } from "./_secret.ts";
import type { ReceivedReport } from "./serve.ts";

/** Settings of {@link pageHandler}. */
export interface PageSettings {
  /** When set, every page request must carry it (Basic password or Bearer). */
  pageToken?: string;
  refreshSeconds: number;
  now: () => number;
}

const HOST_PAGE_RE = /^\/host\/([^/]+)$/;
const PAGES = ["/", "/metrics", "/v1/status"];

/** Headers on every response: nothing framed, sniffed, leaked, or run. */
const SECURITY_HEADERS: Record<string, string> = {
  // The pages have no script at all and one inline stylesheet, allowed by its hash.
  "content-security-policy":
    `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self'; base-uri 'none'; ` +
    "form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-resource-policy": "same-origin",
};

/** Adds {@link SECURITY_HEADERS} to `res`. */
export function withSecurityHeaders(res: Response): Response {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
  return res;
}

/** A handler for the page paths; undefined for any other path. */
export function pageHandler(
  fleet: FleetState,
  o: PageSettings,
): (req: Request, url: URL) => Promise<Response | undefined> {
  return async (req, url) => {
    const hostPage = HOST_PAGE_RE.exec(url.pathname);
    if (!PAGES.includes(url.pathname) && !hostPage) return undefined;
    if (o.pageToken && !await pageTokenMatches(req, o.pageToken)) {
      return text(401, "unauthorized", { "www-authenticate": 'Basic realm="cairn serve"' });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, "pages are read-only", { allow: "GET, HEAD" });
    }
    const now = o.now();
    const view = viewFleet(fleet, now);
    const page = { refreshSeconds: o.refreshSeconds, now };
    if (url.pathname === "/v1/status") return json(200, { hosts: statusObject(fleet) });
    if (url.pathname === "/metrics") {
      return new Response(renderFleetMetrics(view, now), {
        headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (url.pathname === "/") return html(200, renderDashboard(view, page));
    let name: string;
    try {
      name = decodeURIComponent(hostPage![1]);
    } catch {
      return text(400, "invalid host name");
    }
    const host = view.find((h) => h.host === name);
    if (!host) return text(404, "no such host");
    return html(200, renderHostPage(host, page));
  };
}

/** Bearer TOKEN, or Basic with TOKEN as the password (any user name). */
async function pageTokenMatches(req: Request, expected: string): Promise<boolean> {
  const header = req.headers.get("authorization") ?? "";
  let given: string | undefined = /^Bearer (\S+)$/i.exec(header)?.[1];
  const basic = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header)?.[1];
  if (basic) {
    try {
      const pair = new TextDecoder().decode(Uint8Array.from(atob(basic), (c) => c.charCodeAt(0)));
      given = pair.slice(pair.indexOf(":") + 1);
    } catch {
      return false;
    }
  }
  if (given === undefined) return false;
  return await sameSecret(given, expected);
}

/** `/v1/status`: host → job → last report, for hosts that reported. */
function statusObject(fleet: FleetState): Record<string, Record<string, ReceivedReport>> {
  const out: Record<string, Record<string, ReceivedReport>> = {};
  for (const host of [...fleet.hosts.keys()].sort()) {
    const jobs = fleet.hosts.get(host)!.jobs;
    const named = [...jobs.keys()].sort().flatMap((j) => {
      const last = jobs.get(j)!.last;
      return last ? [[j, last] as const] : [];
    });
    if (named.length) out[host] = Object.fromEntries(named);
  }
  return out;
}
