/**
 * The S3 server tests run against: `S3_ENDPOINT` plus the standard AWS
 * variables, as `.ci/run` exports them after starting Ceph RGW. When they are
 * absent the S3 tests are registered as ignored, so `deno task test` still
 * works on a machine without a server.
 *
 * @module
 */

import { FILE_TYPES } from "../backend/backend.ts";
import { S3Backend } from "../backend/s3.ts";

/** Where the test server is, or undefined when none is configured. */
export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** The environment a cairn process or backend needs (AWS_* set). */
  env: Record<string, string>;
}

/** The configured test server, if any. */
export function s3TestServer(): S3TestServer | undefined {
  const endpoint = Deno.env.get("S3_ENDPOINT");
  const accessKeyId = Deno.env.get("AWS_ACCESS_KEY_ID");
  const secret = Deno.env.get("AWS_SECRET_ACCESS_KEY");
  if (!endpoint || !accessKeyId || !secret) return undefined;
  return {
    endpoint: endpoint.replace(/\/+$/, ""),
    bucket: Deno.env.get("S3_BUCKET") || "cairn-test",
    env: {
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secret,
      AWS_DEFAULT_REGION: Deno.env.get("AWS_DEFAULT_REGION") || "us-east-1",
    },
  };
}

/** A location under a fresh random prefix of the test bucket. */
export function freshS3Location(server: S3TestServer, bucket = server.bucket): string {
  const id = Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return `s3:${server.endpoint}/${bucket}/test-${id}`;
}

/** Makes sure the test bucket exists (creating it is part of `init`, tested elsewhere). */
export async function ensureTestBucket(server: S3TestServer): Promise<void> {
  const probe = await S3Backend.create(freshS3Location(server), { env: server.env });
  await probe.close();
}

/** Deletes every object under the location's prefix. */
export async function removeS3Prefix(server: S3TestServer, location: string): Promise<void> {
  const backend = new S3Backend(location, { env: server.env });
  try {
    for (const type of FILE_TYPES) {
      const files = await Array.fromAsync(backend.list(type));
      await Promise.all(files.map((f) => backend.remove(type, f.name)));
    }
  } finally {
    await backend.close();
  }
}

/**
 * A second S3 user's credentials (`S3_AGENT_ACCESS_KEY`, `S3_AGENT_SECRET_KEY`,
 * created by `.ci/run` with radosgw-admin as uid `S3_AGENT_UID`), for tests of
 * append-only agents; undefined when not configured.
 */
export function s3AgentUser():
  | { uid: string; env: Record<string, string> }
  | undefined {
  const server = s3TestServer();
  const accessKeyId = Deno.env.get("S3_AGENT_ACCESS_KEY");
  const secret = Deno.env.get("S3_AGENT_SECRET_KEY");
  const uid = Deno.env.get("S3_AGENT_UID");
  if (!server || !accessKeyId || !secret || !uid) return undefined;
  return {
    uid,
    env: { ...server.env, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secret },
  };
}

/** The agent bucket policy the README gives: put, get and list for `uid`, never delete. */
export function appendOnlyPolicy(bucket: string, uid: string): Record<string, unknown> {
  const principal = { AWS: [`arn:aws:iam:::user/${uid}`] };
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "agent-read-write",
        Effect: "Allow",
        Principal: principal,
        Action: ["s3:PutObject", "s3:GetObject", "s3:ListBucket"],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      },
      {
        Sid: "agent-never-deletes",
        Effect: "Deny",
        Principal: principal,
        Action: ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketPolicy"],
        Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      },
    ],
  };
}

/** Signs one request (policy, listing, deletion) with the server's owner credentials. */
async function bucketRequest(
  server: S3TestServer,
  bucket: string,
  method: "PUT" | "DELETE" | "GET",
  query: string,
  body?: string,
): Promise<string> {
  const { AwsClient } = await import("aws4fetch");
  const aws = new AwsClient({
    accessKeyId: server.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: server.env.AWS_SECRET_ACCESS_KEY,
    region: server.env.AWS_DEFAULT_REGION,
    service: "s3",
    retries: 0,
  });
  const r = await aws.fetch(`${server.endpoint}/${bucket}${query}`, { method, body });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${bucket}${query}: ${r.status} ${text}`);
  return text;
}

/** Applies a bucket policy (PutBucketPolicy) as the bucket's owner. */
export async function putBucketPolicy(
  server: S3TestServer,
  bucket: string,
  policy: Record<string, unknown>,
): Promise<void> {
  await bucketRequest(server, bucket, "PUT", "?policy", JSON.stringify(policy));
}

/** Empties (every key, in pages of up to 1000) and deletes a bucket a test created. */
export async function removeS3Bucket(server: S3TestServer, bucket: string): Promise<void> {
  for (;;) {
    const listing = await bucketRequest(server, bucket, "GET", "?list-type=2");
    const keys = [...listing.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
    if (keys.length === 0) break;
    for (const key of keys) {
      const path = key.replaceAll("&amp;", "&").split("/").map(encodeURIComponent).join("/");
      await bucketRequest(server, bucket, "DELETE", `/${path}`);
    }
  }
  await bucketRequest(server, bucket, "DELETE", "");
}

/**
 * Best-effort removal of a bucket with Object Lock: every version and
 * delete marker, bypassing governance retention (compliance-mode objects
 * stay, and so does the bucket).
 */
export async function removeLockedS3Bucket(server: S3TestServer, bucket: string): Promise<void> {
  const { AwsClient } = await import("aws4fetch");
  const aws = new AwsClient({
    accessKeyId: server.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: server.env.AWS_SECRET_ACCESS_KEY,
    region: server.env.AWS_DEFAULT_REGION,
    service: "s3",
    retries: 0,
  });
  const base = `${server.endpoint}/${bucket}`;
  const listing = await (await aws.fetch(`${base}?versions`)).text();
  const entries = listing.matchAll(
    /<(?:Version|DeleteMarker)>.*?<Key>([^<]*)<\/Key>.*?<VersionId>([^<]*)<\/VersionId>/gs,
  );
  for (const [, key, version] of entries) {
    const path = key.replaceAll("&amp;", "&").split("/").map(encodeURIComponent).join("/");
    const r = await aws.fetch(`${base}/${path}?versionId=${encodeURIComponent(version)}`, {
      method: "DELETE",
      headers: { "x-amz-bypass-governance-retention": "true" },
    });
    await r.body?.cancel();
  }
  const r = await aws.fetch(base, { method: "DELETE" });
  await r.body?.cancel();
}
