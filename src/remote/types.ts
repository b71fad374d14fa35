/**
 * The types of remote job sources: the document shape the fetcher needs, its
 * settings and the outcome of a poll.
 *
 * @module
 */

import type { AllowedDocumentShape, AllowRules, PinnedRepository } from "./allow.ts";

/**
 * What the fetcher needs from a parsed remote job document; the job parser's
 * `JobConfig` fits it. `version` and `expires` are optional in the type only
 * because local files lack them: the fetcher rejects a document without them.
 */
export interface RemoteDocument extends AllowedDocumentShape {
  /** Must increase with every document the agent accepts. */
  version?: number;
  /** The document is refused after this instant. */
  expires?: Date;
  /** Where run reports are POSTed. */
  reportUrl?: string;
}

/** Parses a remote document's text (the job parser in remote mode); throws on invalid input. */
export type RemoteDocumentParser<T extends RemoteDocument> = (text: string, source: string) => T;

/** Settings for `RemoteJobSource.open`; mostly the `[remote]` table. */
export interface RemoteJobSourceOptions<T extends RemoteDocument> {
  /** URL template; `{host}` is replaced by the URL-encoded host name. */
  url: string;
  host: string;
  /** Raw 32-byte Ed25519 public key, its base64 form, or an imported key. */
  publicKey: string | Uint8Array | CryptoKey;
  /** File holding the bearer token sent with every request. */
  tokenFile?: string;
  /** PEM file of CA certificates to trust for the endpoint. */
  caFile?: string;
  allow: AllowRules;
  /**
   * The bootstrap file's repositories: a document's repository definitions
   * must match these exactly (strongly recommended; see `checkAllowed`).
   */
  localRepositories?: Readonly<Record<string, PinnedRepository>>;
  /** Directory for the cache of the last good document. */
  stateDir: string;
  parse: RemoteDocumentParser<T>;
  /** Per request, headers and body; default 30 s. */
  timeoutMs?: number;
  /** Default 1 MiB. */
  maxDocumentBytes?: number;
  /** Default 4 KiB. */
  maxSignatureBytes?: number;
  /** Clock, for tests. */
  now?: () => Date;
  /** Receives one line per rejection, outage or warning; default `console.error`. */
  log?: (line: string) => void;
}

/** The document in force. */
export interface GoodDocument<T extends RemoteDocument> {
  config: T;
  version: number;
  expires: Date;
  /** True when `expires` has passed: still run, but logged loudly. */
  expired: boolean;
  /** When this document was first fetched. */
  fetchedAt: Date;
}

/** The outcome of one `RemoteJobSource.poll`. */
export type PollResult<T extends RemoteDocument> =
  | { status: "unchanged"; current: GoodDocument<T> }
  | { status: "updated"; current: GoodDocument<T> }
  | { status: "rejected"; reason: string; current?: GoodDocument<T> }
  | { status: "unreachable"; reason: string; current?: GoodDocument<T> };
