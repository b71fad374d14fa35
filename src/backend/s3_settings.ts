/**
 * What a job file may say of an S3 repository beyond its URL.
 *
 * @module
 */

/** Settings of an S3 repository beyond its URL (job-file keys). */
export interface S3Settings {
  region?: string;
  /** Address the bucket as `host/bucket` (true) or `bucket.host` (false). */
  pathStyle?: boolean;
  /** PEM file of CA certificates to trust for https. */
  caFile?: string;
  /** x-amz-storage-class for new objects, e.g. `STANDARD_IA`. */
  storageClass?: string;
  /** File holding the access key id. */
  accessKeyIdFile?: string;
  /** File holding the secret access key. */
  secretAccessKeyFile?: string;
}
