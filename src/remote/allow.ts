/**
 * Local allow rules that bound what a remote job document may ask for.
 *
 * The signature says who wrote a document; the allow rules, kept in the local
 * bootstrap file, say what any document may do on this host. They cap the harm
 * of a stolen signing key: such a key can still only back up allowed paths
 * into allowed repositories.
 */

import { posix } from "node:path";

/** The `[remote.allow]` table: repository names and absolute path prefixes. */
export interface AllowRules {
  repositories: readonly string[];
  paths: readonly string[];
}

/** What the allow check reads from a job. */
export interface AllowedJobShape {
  name: string;
  repository: string;
  paths: readonly string[];
  /** Host recorded in snapshots (and used by retention): only the agent's own. */
  host?: string;
  /** Hook commands: never allowed remotely (the job parser rejects them too). */
  before?: readonly unknown[];
  after?: readonly unknown[];
  /** A mirror writes files where it says: not allowed remotely. */
  mirror?: unknown;
}

/** What the allow check reads from a document. */
export interface AllowedDocumentShape {
  jobs: readonly AllowedJobShape[];
  /** Repository tables the document defines, by name. */
  repositories?: Readonly<Record<string, unknown>>;
  /** A local file to write: not allowed remotely. */
  metricsFile?: string;
}

/** The fields of a repository definition that must match a local one. */
export interface PinnedRepository {
  path?: string;
  url?: string;
  passwordFile?: string;
  passwordEnv?: string;
  passwordCommand?: string;
}

/**
 * Returns why `doc` breaks the rules (one line naming the job and value), or
 * undefined when every job stays inside them.
 *
 * With `local` (the bootstrap file's repositories), every repository the
 * document defines must be defined identically there: otherwise a document
 * could keep an allowed name but point it at a repository of its choosing,
 * with a guessable password source, and receive the data.
 */
export function checkAllowed(
  doc: AllowedDocumentShape,
  rules: AllowRules,
  local?: Readonly<Record<string, PinnedRepository>>,
  /**
   * The agent's host name. A job's `host` must be absent or equal to it: a
   * document acts only as its agent, or its `keep` rule could forget another
   * host's snapshots in a shared repository.
   */
  host?: string,
): string | undefined {
  const repos = new Set(rules.repositories);
  for (const [name, def] of Object.entries(doc.repositories ?? {})) {
    if (!repos.has(name)) return `repository "${name}" is not in remote.allow.repositories`;
    if (local && !samePinned(def as PinnedRepository, local[name])) {
      return `repository "${name}" differs from the local definition`;
    }
  }
  if (doc.metricsFile !== undefined) return "metrics_file is not allowed in a remote document";
  for (const job of doc.jobs) {
    if (job.before?.length || job.after?.length) {
      return `job "${job.name}": hooks are not allowed in a remote document`;
    }
    if (job.mirror !== undefined) {
      return `job "${job.name}": mirror is not allowed in a remote document`;
    }
    if (job.host !== undefined && job.host !== host) {
      return `job "${job.name}": host "${job.host}" is not this agent's host` +
        (host === undefined ? "" : ` "${host}"`) + " (a remote document acts only as its agent)";
    }
    if (!repos.has(job.repository)) {
      return `job "${job.name}": repository "${job.repository}" is not in remote.allow.repositories`;
    }
    for (const path of job.paths) {
      const why = pathProblem(path, rules.paths);
      if (why) return `job "${job.name}": path "${path}" ${why}`;
    }
  }
  return undefined;
}

/**
 * Returns why a job path, *resolved*, leaves the allowed prefixes (one line
 * naming the job, the path and where it leads), or undefined when all stay.
 *
 * {@linkcode checkAllowed} checks the strings; this follows symlinks. With
 * `/srv/allowed/link -> /etc`, the string `/srv/allowed/link/secret` is under
 * `/srv` but the backup would read `/etc/secret`. Each path is resolved
 * (realpath) as far as it exists, and so is each prefix (`/srv -> /data/srv`
 * keeps working). A link can be planted after a document was accepted, so the
 * agent checks again just before each run; what is left is the moment
 * between that check and the backup opening the path.
 */
export async function checkResolvedPaths(
  job: Pick<AllowedJobShape, "name" | "paths">,
  prefixes: readonly string[],
): Promise<string | undefined> {
  const allowed: string[] = [];
  for (const prefix of prefixes) {
    const r = await resolveExisting(trimSlash(prefix) || "/");
    if (typeof r === "string") allowed.push(r);
  }
  for (const path of job.paths) {
    const r = await resolveExisting(path);
    if (typeof r !== "string") return `job "${job.name}": path "${path}" ${r.problem}`;
    if (!allowed.some((prefix) => isUnderPrefix(r, prefix))) {
      return `job "${job.name}": path "${path}" leads to "${r}", ` +
        "which is not under any remote.allow.paths prefix";
    }
  }
  return undefined;
}

/**
 * The real path of `path` as far as it exists, with the missing rest
 * appended as written; a dangling symlink on the way is a problem, since what
 * it will lead to is not known yet.
 */
async function resolveExisting(path: string): Promise<string | { problem: string }> {
  const missing: string[] = [];
  let head = path;
  for (;;) {
    try {
      const real = await Deno.realPath(head);
      return missing.length === 0 ? real : posix.join(real, ...missing.reverse());
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) {
        return { problem: `cannot be resolved: ${(err as Error).message}` };
      }
    }
    const link = await Deno.lstat(head).then((i) => i.isSymlink, () => false);
    if (link) return { problem: `runs through a dangling symlink "${head}"` };
    if (head === "/") return path;
    missing.push(posix.basename(head));
    head = posix.dirname(head);
  }
}

/** True when `path` equals `prefix` or lies below it, by whole components. */
export function isUnderPrefix(path: string, prefix: string): boolean {
  const p = trimSlash(prefix);
  if (p === "") return true; // prefix "/" allows every absolute path
  return path === p || path.startsWith(p + "/");
}

function samePinned(a: PinnedRepository | undefined, b: PinnedRepository | undefined): boolean {
  if (!a || !b) return false;
  return a.path === b.path && a.url === b.url && a.passwordFile === b.passwordFile &&
    a.passwordEnv === b.passwordEnv && a.passwordCommand === b.passwordCommand;
}

function pathProblem(path: string, prefixes: readonly string[]): string | undefined {
  if (!path.startsWith("/")) return "is not absolute";
  // Compare only normalized paths: "/srv/../etc" must not pass as under "/srv".
  // Rejecting rather than normalizing keeps what is backed up exactly what was asked.
  if (path.includes("\0") || trimSlash(posix.normalize(path)) !== trimSlash(path)) {
    return "is not normalized";
  }
  const clean = trimSlash(path) || "/";
  if (prefixes.some((prefix) => isUnderPrefix(clean, prefix))) return undefined;
  return "is not under any remote.allow.paths prefix";
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, "");
}
