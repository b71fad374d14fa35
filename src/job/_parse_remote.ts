/**
 * The `[remote]` table of bootstrap files and the header keys of remote job
 * documents (`version`, `expires`, `report_url`).
 *
 * @module
 */

import { decodeBase64 } from "./_base64.ts";
import { parseDuration } from "./duration.ts";
import { type ExpandEnv, expandPath } from "./_expand.ts";
import type { Reader } from "./_reader.ts";
import type { RemoteConfig } from "./types.ts";

function httpUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`invalid URL "${text}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`URL "${text}" must use http or https`);
  }
  return url.href;
}

/** Reads `[remote]` (with `[remote.allow]`). */
export function parseRemote(r: Reader, expand: ExpandEnv): RemoteConfig {
  r.onlyKeys(["url", "public_key", "token_file", "poll", "ca_file", "allow"]);
  const url = r.convert("url", r.string("url", true), httpUrl);
  const keyText = r.string("public_key", true);
  const publicKey = r.convert("public_key", keyText, (s) => {
    const bytes = decodeBase64(s.trim());
    if (bytes.length !== 32) {
      throw new Error(`expected a base64 raw Ed25519 key of 32 bytes, got ${bytes.length} bytes`);
    }
    return bytes;
  });
  const poll = r.string("poll");
  const pollMs = poll === undefined ? 5 * 60_000 : r.convert("poll", poll, parseDuration);
  if (pollMs < 10_000) r.fail(["poll"], "must be at least 10s");
  const remote: RemoteConfig = {
    url,
    publicKey,
    pollMs,
    allow: { repositories: [], paths: [] },
  };
  const tokenFile = r.string("token_file");
  if (tokenFile !== undefined) {
    remote.tokenFile = r.convert("token_file", tokenFile, (s) => expandPath(s, expand));
  }
  const caFile = r.string("ca_file");
  if (caFile !== undefined) {
    remote.caFile = r.convert("ca_file", caFile, (s) => expandPath(s, expand));
  }

  // Required on purpose: what a remote document may touch must be a written decision.
  const allowTable = r.subTable("allow", true)!;
  const allow = r.child("allow", allowTable);
  allow.onlyKeys(["repositories", "paths"]);
  remote.allow.repositories = allow.strings("repositories", { required: true })!;
  remote.allow.paths = allow.strings("paths", { required: true })!.map((p, i) =>
    allow.convert("paths", p, (s) => expandPath(s, expand), ["paths", i])
  );
  return remote;
}

/** Reads `expires`: a TOML offset date-time or an RFC 3339 string with a zone. */
export function parseExpires(r: Reader): Date {
  const v = r.table.expires;
  if (v === undefined) r.fail(["expires"], "required key is missing");
  if (v instanceof Date) {
    // smol-toml's TomlDate knows whether a zone was written; a local time is ambiguous across a fleet.
    const d = v as Date & { isLocal?: () => boolean };
    if (d.isLocal?.()) {
      r.fail(["expires"], "must include a time zone offset (e.g. 2030-01-01T00:00:00Z)");
    }
    return new Date(v.getTime());
  }
  if (typeof v === "string") {
    const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
    const t = Date.parse(v);
    if (!rfc3339.test(v) || Number.isNaN(t)) {
      r.fail(["expires"], `invalid RFC 3339 date-time "${v}" (e.g. 2030-01-01T00:00:00Z)`);
    }
    return new Date(t);
  }
  r.fail(["expires"], "expected a date-time");
}

/** Reads `report_url`. */
export function parseReportUrl(r: Reader): string | undefined {
  const s = r.string("report_url");
  return s === undefined ? undefined : r.convert("report_url", s, httpUrl);
}
