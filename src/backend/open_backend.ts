/**
 * Maps a repository location string, as typed by a user or written in a job
 * file, to the backend that serves it.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { LocalBackend } from "./local.ts";

/**
 * Opens the backend for `location`: a plain path or `local:PATH` (relative
 * paths resolve against the cwd). Other schemes throw a `TypeError`.
 * Does no I/O; a missing repository shows up on the first operation.
 */
export function openBackend(location: string): Backend {
  return new LocalBackend(localPath(location));
}

/**
 * Prepares storage for a new repository at `location` (for a local path:
 * makes the folder layout) and opens it. Rejects if a repository is already
 * there. `init` must use this rather than {@link openBackend}, which never
 * creates folders so that an unmounted disk fails instead of filling up.
 */
export function createBackend(location: string): Promise<Backend> {
  try {
    return LocalBackend.create(localPath(location));
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The filesystem path a location names; throws for other schemes. */
function localPath(location: string): string {
  if (location === "") throw new TypeError("Repository location is empty");
  // One letter before the colon is a Windows drive (C:\repo), not a scheme.
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return location;
  if (scheme === "local") {
    const path = location.slice("local:".length);
    if (path === "") throw new TypeError(`Repository location "${location}" has no path`);
    return path;
  }
  throw new TypeError(
    `Repository location "${location}": scheme "${scheme}:" is not supported yet ` +
      `(write ./${location} for a local path)`,
  );
}
