import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { backendConformance, bytes, hexName } from "./conformance_test_kit.ts";
import { S3Backend } from "./s3.ts";
import { ensureTestBucket, freshS3Location, removeS3Prefix, s3TestServer } from "../testing/s3.ts";

const server = s3TestServer();
const ignore = server === undefined;
let bucketReady: Promise<void> | undefined;

async function fresh(options: ConstructorParameters<typeof S3Backend>[1] = {}) {
  bucketReady ??= ensureTestBucket(server!);
  await bucketReady;
  const location = freshS3Location(server!);
  return {
    location,
    backend: new S3Backend(location, { env: server!.env, ...options }),
    cleanup: () => removeS3Prefix(server!, location),
  };
}

backendConformance("S3Backend (Ceph RGW)", () => fresh(), { ignore });

backendConformance(
  "S3Backend without If-None-Match (claim protocol)",
  () => fresh({ conditionalWrites: false }),
  { ignore },
);
