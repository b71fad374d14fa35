/**
 * The token that guards `cairn ui`, as Jupyter's does: printed once in the
 * URL, then kept in a cookie. A WebDAV client, which cannot add a query
 * string, gives it as the HTTP Basic password (any user name).
 */

/** The cookie that carries the token after the first visit. */
export const TOKEN_COOKIE = "cairn_ui_token";

/** A new random token: 32 bytes, hex. */
export function newToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** How a request proved it holds the token, or undefined when it did not. */
export type TokenSource = "query" | "cookie" | "basic" | "bearer";

/** Does `req` carry `token` (query `?token=`, cookie, Basic password or Bearer)? */
export function tokenSource(req: Request, token: string): TokenSource | undefined {
  const url = new URL(req.url);
  const q = url.searchParams.get("token");
  if (q !== null && sameText(q, token)) return "query";
  const cookie = cookieValue(req.headers.get("cookie") ?? "", TOKEN_COOKIE);
  if (cookie !== undefined && sameText(cookie, token)) return "cookie";
  const auth = req.headers.get("authorization") ?? "";
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(auth);
  if (basic) {
    let text: string;
    try {
      text = new TextDecoder().decode(Uint8Array.from(atob(basic[1]), (c) => c.charCodeAt(0)));
    } catch {
      return undefined;
    }
    const colon = text.indexOf(":");
    if (colon >= 0 && sameText(text.slice(colon + 1), token)) return "basic";
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(auth);
  if (bearer && sameText(bearer[1], token)) return "bearer";
  return undefined;
}

/** The `set-cookie` value that keeps the token for this origin only. */
export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}

function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Compares in time that depends only on the lengths, not on where they differ. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
