// The agent's cache of its last good remote job document.

import { join } from "node:path";
import { readFileIfExists, writeFileAtomic } from "../fs/mod.ts";

/** File name of the cache inside the agent's state directory. */
export const STATE_FILE = "remote-jobs.json";

/**
 * What is cached: the exact document and signature bytes (so a restart
 * re-verifies them rather than trusting the cache) plus the HTTP metadata.
 * One JSON file, replaced atomically, so document, signature and version can
 * never come from different fetches.
 */
export interface CachedDocument {
  url: string;
  etag?: string;
  version: number;
  fetchedAt: string;
  document: Uint8Array;
  signature: Uint8Array;
}

interface StateJson {
  format: 1;
  url: string;
  etag?: string;
  version: number;
  fetchedAt: string;
  document: string;
  signature: string;
}

/** Loads the cache; undefined if there is none, throws a one-line error if it is unreadable. */
export async function loadState(stateDir: string): Promise<CachedDocument | undefined> {
  const path = join(stateDir, STATE_FILE);
  const bytes = await readFileIfExists(path);
  if (!bytes) return undefined;
  try {
    const j = JSON.parse(new TextDecoder().decode(bytes)) as StateJson;
    if (j.format !== 1 || typeof j.url !== "string" || !Number.isSafeInteger(j.version)) {
      throw new TypeError("unknown format");
    }
    return {
      url: j.url,
      etag: typeof j.etag === "string" ? j.etag : undefined,
      version: j.version,
      fetchedAt: String(j.fetchedAt),
      document: Uint8Array.fromBase64(j.document),
      signature: Uint8Array.fromBase64(j.signature),
    };
  } catch (err) {
    throw new Error(`Cannot read remote job cache "${path}": ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Replaces the cache atomically and durably. */
export async function saveState(stateDir: string, state: CachedDocument): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const json: StateJson = {
    format: 1,
    url: state.url,
    etag: state.etag,
    version: state.version,
    fetchedAt: state.fetchedAt,
    document: state.document.toBase64(),
    signature: state.signature.toBase64(),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(json, null, 2) + "\n");
  await writeFileAtomic(join(stateDir, STATE_FILE), bytes);
}
