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
