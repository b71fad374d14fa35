/**
 * `cairn ui`: a repository browser in the browser, and the same snapshots
 * read-only over WebDAV, from a local server guarded by a random token.
 *
 * - `ui_server.ts`: {@link startUi}, the server and its routes
 * - `api.ts`: the page's JSON API and the downloads (files, tar, zip)
 * - `dav.ts`: WebDAV at `/dav/HOST/JOB/TIME/PATH`
 * - `restores.ts`: restores started from the page, with progress
 * - `auth.ts`: the token (query, cookie, Basic password)
 *
 * @module
 */
export { SECURITY_HEADERS, startUi, type UiOptions, type UiServer } from "./ui_server.ts";
export type { UiRepo } from "./ui_repo.ts";
export { TOKEN_COOKIE } from "./auth.ts";
