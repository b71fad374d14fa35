/**
 * Remote jobs: a fleet of agents steered from one signed job document per
 * host, and run reports sent back. The protocol is in `docs/REMOTE.md`.
 *
 * - `keys.ts`: Ed25519 key pairs, `.sig` files (`cairn keygen`, `cairn sign`)
 * - `fetcher.ts`: {@link RemoteJobSource}, polls, verifies and caches the document
 * - `allow.ts`: the local `[remote.allow]` bounds on what a document may ask for
 * - `reports.ts`: {@link ReportQueue}, delivers run reports with an on-disk queue
 * - `serve.ts`: {@link serveFleet}, the reference endpoint (`cairn serve`), with
 *   its dashboard pages and `/metrics`
 * - `heartbeat.ts`: the {@link Heartbeat} an agent sends with each poll
 *
 * @module
 */

export {
  exportPublicKey,
  generateKeyPair,
  importPublicKey,
  KeyFormatError,
  loadPrivateKey,
  parsePublicKey,
  parseSignature,
  SIGNATURE_HEADER,
  signDocument,
  signFile,
  SIGNING_CONTEXT,
  verifyDocument,
  writeKeyPair,
  type WrittenKeyPair,
} from "./keys.ts";
export { RemoteJobSource } from "./fetcher.ts";
export type {
  GoodDocument,
  PollResult,
  RemoteDocument,
  RemoteDocumentParser,
  RemoteJobSourceOptions,
} from "./types.ts";
export {
  type AllowedDocumentShape,
  type AllowedJobShape,
  type AllowRules,
  checkAllowed,
  checkResolvedPaths,
  isUnderPrefix,
  type PinnedRepository,
} from "./allow.ts";
export { type FlushResult, ReportQueue, type ReportQueueOptions } from "./reports.ts";
export { type ReportOutcome, reportProblem, type RunReport } from "./report.ts";
export { type Heartbeat, type HeartbeatJob, heartbeatProblem, pickHeartbeat } from "./heartbeat.ts";
export { HeartbeatSender, type HeartbeatSenderOptions, heartbeatUrl } from "./heartbeat_sender.ts";
export {
  type FleetServer,
  isLoopback,
  loadTokens,
  type ReceivedReport,
  serveFleet,
  type ServeFleetOptions,
  UnsafeListenError,
} from "./serve.ts";
