/**
 * Parses `s3:` repository locations and their settings.
 *
 * Accepted forms:
 * - `s3:https://HOST[:PORT]/BUCKET[/PREFIX]`
 * - `s3:http://HOST[:PORT]/BUCKET[/PREFIX]` (loopback or private hosts only)
 * - `s3:HOST/BUCKET[/PREFIX]`, restic's short form, meaning https
 *   (e.g. `s3:s3.amazonaws.com/bucket/prefix`)
 *
 * Settings that a job file gives as repository keys may also ride along as a
 * query (`?region=eu-west-1&path_style=true`): that is how a backend is
 * reopened from its location alone, e.g. in a worker thread. No setting is a
 * secret; credentials are named by file, never inlined.
 *
 * @module
 */

import type { S3Settings } from "./s3_settings.ts";

/** A parsed `s3:` location. */
export interface S3Location {
  /** `https://host:port`, no trailing slash. */
  endpoint: string;
  bucket: string;
  /** Key prefix without leading or trailing slash; may be empty. */
  prefix: string;
  settings: S3Settings;
}

const QUERY_KEYS: Record<string, keyof S3Settings> = {
  region: "region",
  path_style: "pathStyle",
  ca_file: "caFile",
  storage_class: "storageClass",
  access_key_id_file: "accessKeyIdFile",
  secret_access_key_file: "secretAccessKeyFile",
};

/** Whether `location` names an S3 repository. */
export function isS3Location(location: string): boolean {
  return /^s3:/i.test(location);
}

/** Parses an `s3:` location; throws a one-line `TypeError` naming it when malformed. */
export function parseS3Location(location: string, extra: S3Settings = {}): S3Location {
  const bad = (why: string) => new TypeError(`Repository location "${location}": ${why}`);
  let rest = location.replace(/^s3:/i, "");
  if (rest === "") throw bad("no bucket given (s3:https://HOST/BUCKET[/PREFIX])");
  if (!/^https?:\/\//i.test(rest)) {
    if (rest.includes("://")) throw bad("only http:// and https:// endpoints are supported");
    rest = "https://" + rest;
  }
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw bad("not a valid URL");
  }
  if (url.username || url.password) {
    throw bad("credentials do not belong in the location; use AWS_* variables or key files");
  }
  if (url.hash) throw bad("a location has no #fragment");
  if (url.protocol === "http:" && !isPrivateHost(url.hostname)) {
    throw bad(`plain http is only allowed to loopback or private hosts, not ${url.hostname}`);
  }
  const parts = decodeURIComponent(url.pathname).split("/").filter((p) => p !== "");
  const bucket = parts.shift();
  if (!bucket) throw bad("no bucket given (s3:https://HOST/BUCKET[/PREFIX])");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw bad(`"${bucket}" is not a valid bucket name`);
  }
  const settings: S3Settings = {};
  for (const [key, value] of url.searchParams) {
    const field = QUERY_KEYS[key];
    if (!field) throw bad(`unknown setting "${key}"`);
    if (field === "pathStyle") {
      if (value !== "true" && value !== "false") throw bad(`path_style must be true or false`);
      settings.pathStyle = value === "true";
    } else settings[field] = value;
  }
  return {
    endpoint: `${url.protocol}//${url.host}`,
    bucket,
    prefix: parts.join("/"),
    settings: { ...settings, ...definedOnly(extra) },
  };
}

/** The location string that reopens `loc`: URL plus any settings as a query. */
export function formatS3Location(loc: S3Location): string {
  const query = new URLSearchParams();
  for (const [key, field] of Object.entries(QUERY_KEYS)) {
    const value = loc.settings[field];
    if (value !== undefined) query.set(key, String(value));
  }
  const q = query.size > 0 ? `?${query}` : "";
  return `s3:${loc.endpoint}/${loc.bucket}${loc.prefix ? "/" + loc.prefix : ""}${q}`;
}

/** Loopback, RFC 1918 / unique-local addresses and `localhost`. */
function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost") || h === "::1") return true;
  if (/^f[cd][0-9a-f]{2}:/.test(h)) return true;
  const m = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(h);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function definedOnly(s: S3Settings): S3Settings {
  return Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as S3Settings;
}
