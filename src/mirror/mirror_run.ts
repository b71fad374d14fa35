import { resolve } from "node:path";
import { applyRetention, type KeepPolicy, type RetentionInput } from "../catalog/mod.ts";
import type { DirLister } from "../walker/mod.ts";
import { removeEntry } from "./_fs.ts";
import { claimMirrorDir, type MirrorMarker, MirrorRefusedError, writeMarker } from "./marker.ts";
import { MirrorLock } from "./mirror_lock.ts";
import { type MirrorIssue, type MirrorStats, MirrorTree } from "./mirror_tree.ts";
import { requireMount } from "./require_mount.ts";
import {
  expandTemplate,
  findVersions,
  isVersioned,
  type TemplateValues,
  versionsFolder,
} from "./template.ts";

/** Where and how to mirror; plain data shared by the CLI and job files. */
export interface MirrorOptions {
  /** Directory, or absolute path template with `{job}`, `{host}`, `{date}`, `{time}`, `{snapshot}`. */
  path: string;
  /** Delete mirrored entries that are not in the snapshot. */
  purge: boolean;
  /** Retention for the folders of a versioned template. */
  keep?: KeepPolicy;
  /** Refuse unless this directory is a mount point holding the mirror (the disk is mounted). */
  requireMount?: string;
  onError?: (path: string, message: string) => void;
  onWarning?: (message: string) => void;
  /** Called as each mirror file is handed to its writer, before it is written (a hook for tests). */
  onHandOut?: (path: string) => void;
}

/** What a mirror run did. */
export interface MirrorResult {
  /** The folder written. */
  path: string;
  /** The previous version's folder that unchanged files were linked to. */
  previous?: string;
  stats: MirrorStats;
  errors: MirrorIssue[];
  /** Version folders removed by `keep`. */
  removedVersions: string[];
}

/**
 * One mirror run around a walk: resolves the path template, finds the
 * previous version, claims the folder (marker check), and at the end
 * creates links, sets directory metadata, writes the marker naming the
 * snapshot and thins old versions.
 *
 * The run holds the lock of the folder it works in from {@link open} to
 * {@link finish} or {@link abandon}: the mirror itself, or for a versioned
 * template the folder holding every version, since runs there also thin
 * each other's folders and a `{snapshot}` folder is renamed into it.
 */
export class MirrorRun {
  readonly tree: MirrorTree;
  #pending: { at: string; final: string } | undefined;
  readonly #lock: MirrorLock;

  private constructor(
    private readonly opts: MirrorOptions,
    private readonly values: TemplateValues,
    readonly path: string,
    private readonly claimed: boolean,
    readonly previous: string | undefined,
    pending: { at: string; final: string } | undefined,
    lock: MirrorLock,
    lister: DirLister | undefined,
  ) {
    this.#pending = pending;
    this.#lock = lock;
    this.tree = new MirrorTree({
      root: path,
      purge: opts.purge,
      previous,
      onError: opts.onError,
      onHandOut: opts.onHandOut,
      lister,
    });
  }

  /**
   * Prepares the mirror folder. `sources` are the backed-up paths: a mirror
   * inside a source (or holding one) is refused. A template using
   * `{snapshot}` before the id is known is written under a temporary name
   * and renamed by {@link finish}. Before anything is written, the mount
   * point (`requireMount`) is checked and the lock taken.
   */
  static open(
    opts: MirrorOptions,
    values: TemplateValues,
    sources: readonly string[],
    lister?: DirLister,
  ): MirrorRun {
    const template = opts.path;
    if (!template.startsWith("/")) throw new TypeError(`Mirror path ${template} is not absolute`);
    const versioned = isVersioned(template);
    let pending: { at: string; final: string } | undefined;
    let path: string;
    if (template.includes("{snapshot}") && values.snapshot === undefined) {
      // Only the component holding {snapshot} and the ones before it decide the rename.
      const parts = template.split("/");
      const k = parts.findIndex((p) => p.includes("{snapshot}"));
      const token = `.cairn-pending-${crypto.randomUUID().slice(0, 8)}`;
      const withToken = { ...values, snapshot: token };
      path = resolve(expandTemplate(template, withToken));
      pending = {
        at: resolve(expandTemplate(parts.slice(0, k + 1).join("/"), withToken)),
        final: "",
      };
    } else path = resolve(expandTemplate(template, values));
    const folder = versioned ? versionsFolder(template, values) : path;
    // By path as given, and by real path: a link can make a mirror path
    // outside every source lead into one.
    const mirrors = [...new Set([path, folder])].map((m) => [m, realPathAhead(m)]);
    for (const s of sources.map((p) => resolve(p))) {
      const sReal = realPathAhead(s);
      for (const [m, mReal] of mirrors) {
        if (nested(m, s) || nested(mReal, sReal)) {
          throw new MirrorRefusedError(
            `Refusing to mirror ${s} into ${m}: a mirror must not be inside a source or hold one`,
          );
        }
      }
    }
    const lockDir = resolve(folder);
    if (opts.requireMount !== undefined) {
      for (const d of new Set([lockDir, path])) requireMount(opts.requireMount, d);
    }
    const lock = MirrorLock.acquire(lockDir, { onWarning: opts.onWarning });
    try {
      let previous: string | undefined;
      if (versioned) {
        const versions = findVersions(template, values).filter((v) => v.path !== path);
        previous = versions.at(-1)?.path;
      } else if (opts.keep) {
        opts.onWarning?.("mirror keep has no effect: the path has no {date}, {time} or {snapshot}");
      }
      const claim = claimMirrorDir(path, {
        purge: opts.purge,
        job: values.job,
        host: values.host,
        template: versioned ? template : undefined,
        versions: versioned ? folder : undefined,
      });
      return new MirrorRun(
        opts,
        values,
        claim.root,
        claim.claimed,
        previous,
        pending,
        lock,
        lister,
      );
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** Completes the mirror of snapshot `id`: links, metadata, marker, retention; releases the lock. */
  async finish(id: string): Promise<MirrorResult> {
    try {
      return await this.#finish(id);
    } finally {
      this.#lock.release();
    }
  }

  async #finish(id: string): Promise<MirrorResult> {
    await this.tree.finish();
    let path = this.path;
    if (this.#pending) {
      const final = resolve(
        expandTemplate(this.opts.path.split("/").slice(0, this.#componentCount()).join("/"), {
          ...this.values,
          snapshot: id,
        }),
      );
      Deno.renameSync(this.#pending.at, final);
      path = final + path.slice(this.#pending.at.length);
      this.#pending = undefined;
    }
    const versioned = isVersioned(this.opts.path);
    const marker: MirrorMarker = {
      cairn_mirror: 1,
      job: this.values.job ?? null,
      host: this.values.host,
      snapshot: id,
      time: this.values.time.toISOString(),
      complete: true,
    };
    if (versioned) {
      marker.template = this.opts.path;
      marker.versions = versionsFolder(this.opts.path, this.values);
    }
    if (this.claimed) writeMarker(path, marker);
    let removedVersions: string[] = [];
    if (versioned && this.opts.keep && this.claimed) {
      try {
        removedVersions = this.#thin(path, this.opts.keep);
      } catch (err) {
        this.opts.onWarning?.(`mirror keep not applied: ${(err as Error).message}`);
      }
    }
    const result: MirrorResult = {
      path,
      stats: this.tree.stats,
      errors: this.tree.errors,
      removedVersions,
    };
    if (this.previous) result.previous = this.previous;
    return result;
  }

  /**
   * After a failed run: removes a folder still under its temporary
   * `{snapshot}` name and releases the lock.
   */
  abandon(): void {
    try {
      if (this.#pending) removeEntry(this.#pending.at);
    } catch {
      // The next run cannot mistake it for a version: its marker is incomplete.
    } finally {
      this.#lock.release();
    }
  }

  #componentCount(): number {
    const parts = this.opts.path.split("/");
    return parts.findIndex((p) => p.includes("{snapshot}")) + 1;
  }

  /** Removes the version folders `keep` does not keep; never the current one. */
  #thin(current: string, keep: KeepPolicy): string[] {
    const versions = findVersions(this.opts.path, this.values);
    const inputs: (RetentionInput & { path: string })[] = versions.map((v) => ({
      id: v.path,
      path: v.path,
      time: new Date(v.marker.time!),
      host: v.marker.host ?? "",
      paths: [],
      tags: [],
    }));
    const { remove } = applyRetention(inputs, keep);
    const removed: string[] = [];
    for (const r of remove) {
      if (r.id === current) continue;
      if (this.tree.guard(r.id, () => removeEntry(r.id))) removed.push(r.id);
    }
    return removed;
  }
}

/** Is one of two absolute paths the other, or inside it? */
function nested(a: string, b: string): boolean {
  const inside = (x: string, y: string) => x === y || x.startsWith(y === "/" ? "/" : y + "/");
  return inside(a, b) || inside(b, a);
}

/**
 * The real path `path` has or will have: the real path of its nearest
 * existing ancestor, with the missing components after it.
 */
function realPathAhead(path: string): string {
  const rest: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      const real = Deno.realPathSync(at);
      return rest.length === 0 ? real : `${real === "/" ? "" : real}/${rest.reverse().join("/")}`;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound) || at === "/") return resolve(path);
    }
    const cut = at.lastIndexOf("/");
    rest.push(at.slice(cut + 1));
    at = cut === 0 ? "/" : at.slice(0, cut);
  }
}
