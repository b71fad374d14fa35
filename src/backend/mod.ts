/**
 * Storage backends: where a repository's files live.
 *
 * A {@link Backend} stores whole, immutable files by (type, name) and knows
 * nothing about what is in them. {@link LocalBackend} is the default, a
 * directory on a local disk, and {@link S3Backend} keeps one in an S3 bucket;
 * {@link openBackend} picks a backend from a location string and
 * {@link createBackend} prepares one for a new repository. Behaviour that is
 * not storage — retrying, fault injection —
 * wraps a backend ({@link RetryBackend}, {@link FaultBackend}) instead of
 * living inside one, and {@link MemoryBackend} keeps engine tests fast.
 *
 * Every backend passes the same conformance suite
 * (`conformance_test_kit.ts`, imported directly by backend tests).
 *
 * @module
 */

export {
  AlreadyExistsError,
  assertValidName,
  type Backend,
  type BackendOp,
  type ByteRange,
  FILE_TYPES,
  type FileStat,
  type FileType,
  NotFoundError,
  type OpOptions,
  type Retention,
  type SaveOptions,
} from "./backend.ts";
export { LocalBackend } from "./local.ts";
export { DryRunBackend } from "./dry_run.ts";
export { MemoryBackend } from "./memory.ts";
export { type FailNextOptions, FaultBackend, type FaultHook, InjectedFault } from "./fault.ts";
export { cacheDirFor, type CacheStats, CachingBackend } from "./cache.ts";
export { isTransientError, RetryBackend, type RetryEvent, type RetryOptions } from "./retry.ts";
// Only types from s3.ts: its code loads when an s3: location is opened.
export type { S3Backend, S3BackendOptions, S3Error, S3Settings } from "./s3.ts";
export { createBackend, openBackend, type OpenOptions } from "./open_backend.ts";
