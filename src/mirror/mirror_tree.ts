import type { MirrorEntry, MirrorTarget } from "../archiver/mod.ts";
import { HeldDir, unheld } from "../heldfs/mod.ts";
import {
  byteFs,
  isRoot,
  setLinkOwner,
  stat,
  supported as platformSupported,
} from "../platform/mod.ts";
import { lstatOrNull } from "../fs/mod.ts";
import type { DirLister } from "../walker/mod.ts";
import { linkInto, removeEntry, symlinkInto } from "./_fs.ts";
import { type FirstLink, listDirInfo, MODE_MASK, type Place, type TreeHost } from "./_dir_host.ts";
import { applyFlags, applyTimes, applyXattrs, timesNs } from "./file_writer.ts";
import { MirrorDirState } from "./mirror_dir.ts";

/** What a mirror run did. */
export interface MirrorStats {
  /** Files (re)written, and their bytes. */
  written: number;
  bytes: number;
  /** Files whose bytes were already right (same content, new mtime): only metadata set. */
  retimed: number;
  /** Files hard-linked to the previous version's copy or to another link of the same file. */
  linked: number;
  /** Files already up to date (size and mtime match). */
  unchanged: number;
  symlinks: number;
  dirs: number;
  /** Entries purged (a directory counts once). */
  removed: number;
}

/** One entry that could not be mirrored. */
export interface MirrorIssue {
  path: string;
  message: string;
}

export interface MirrorTreeOptions {
  /** The mirror directory (real path, exists). */
  root: string;
  /** Delete entries that are not in the snapshot. */
  purge: boolean;
  /** The previous version's folder: unchanged files become hard links to its copies. */
  previous?: string;
  onError?: (path: string, message: string) => void;
  /**
   * Lists the mirror's directories ahead of the walk ({@link MirrorDirState.subdir});
   * started on the root by {@link MirrorTree.root}, closed by the caller.
   */
  lister?: DirLister;
  /**
   * Called on the main thread as each file is handed to the thread that
   * writes it, before it is written: a known point mid-run, for tests.
   */
  onHandOut?: (path: string) => void;
}

/** Directories reopened after their walk kept open at most (then all are closed). */
const REOPENED_MAX = 64;

/**
 * A mirror being brought up to date: the decisions for every entry (skip,
 * link, write, purge) and the steps that must wait until all files are in
 * place: symlinks last (so nothing is ever written through one), then
 * directory modes and times, deepest first.
 *
 * Every name comes from a directory listing or a checked tree, and every
 * entry is made inside a directory held open by descriptor (`src/heldfs`:
 * opened with O_NOFOLLOW, reached as `/proc/self/fd/N/name`, also by the
 * workers writing files, and reopened from the root with its device and
 * inode checked for the steps that come last). Existing entries are looked
 * at with lstat, files written to O_EXCL temp files and renamed, so no write
 * leaves the root or goes through a link, even when a directory is swapped
 * for one while the run writes into it.
 *
 * A directory new to the mirror is built under a temp name beside its own
 * (mode 0700, made with mkdir, which never follows a link) and renamed into
 * place after its contents and metadata: inside it, files, links and
 * subdirectories are created under their own names, with no temp file and
 * rename each (a third of the cost of writing a small file). A crash leaves
 * the temp directory, which the next run removes like any temp file.
 */
export class MirrorTree {
  readonly stats: MirrorStats = {
    written: 0,
    bytes: 0,
    linked: 0,
    retimed: 0,
    unchanged: 0,
    symlinks: 0,
    dirs: 0,
    removed: 0,
  };
  readonly errors: MirrorIssue[] = [];
  readonly asRoot = isRoot();
  readonly #dirs: { dir: MirrorDirState; entry?: MirrorEntry; depth: number }[] = [];
  readonly #symlinks: { at: Place; target: string; fresh: boolean; entry?: MirrorEntry }[] = [];
  /** Which directory each file handed to a writer is in: held open until it is written. */
  readonly #targets = new Map<MirrorTarget, MirrorDirState>();
  #reopened: MirrorDirState[] = [];
  #root: MirrorDirState | undefined;
  /** Directories built under a temp name (that path → their own). */
  readonly #staged = new Map<string, string>();
  /** `dev:inode` → where that file's first link is, once written. */
  readonly #links = new Map<string, FirstLink>();
  readonly #linkWaiters = new Map<MirrorTarget, (at: Place | undefined) => void>();
  readonly #pending: Promise<void>[] = [];
  /**
   * Files and links of each directory still being written, plus one until
   * its walk is done (absent: just that one).
   */
  readonly #holds = new Map<MirrorDirState, number>();
  readonly #host: TreeHost = {
    tree: this,
    addDir: (dir, entry, depth, made) => {
      this.#dirs.push({ dir, entry, depth });
      if (made) this.stats.dirs++;
    },
    firstLink: (key) => this.#links.get(key),
    setFirstLink: (key, at, ino) => {
      this.#links.set(key, { at: Promise.resolve(at), ino });
    },
    setFirstLinkPending: (key, target) => {
      this.#links.set(key, { at: new Promise((r) => this.#linkWaiters.set(target, r)) });
    },
    linkLater: (first, at, exists) => {
      this.#hold(at.dir);
      this.#pending.push(
        first.then((src) => {
          if (src === undefined) return;
          this.#at(at, (held) => {
            // Both directories are held: reopening the source's cannot close this one.
            const from = this.reopen(src.dir).at(src.name);
            linkInto(from, held.at(at.name), exists);
            this.stats.linked++;
          });
        }).finally(() => this.#release(at.dir)),
      );
    },
    symlinkLater: (at, target, fresh, entry) => {
      this.#symlinks.push({ at, target, fresh, entry });
    },
    stage: (at, final) => {
      this.#staged.set(at, final);
    },
    handOut: (target, dir) => {
      this.#targets.set(target, dir);
      this.#hold(dir);
      this.opts.onHandOut?.(this.#shown(unheld(target.path)));
      return target;
    },
    release: (dir) => this.#release(dir),
  };

  constructor(readonly opts: MirrorTreeOptions) {}

  #hold(dir: MirrorDirState): void {
    this.#holds.set(dir, (this.#holds.get(dir) ?? 1) + 1);
  }

  #release(dir: MirrorDirState): void {
    const left = (this.#holds.get(dir) ?? 1) - 1;
    if (left > 0) return void this.#holds.set(dir, left);
    this.#holds.delete(dir);
    if (dir.parent) dir.held.close();
  }

  /** The root directory, standing for the sources' base directory (entry undefined: `/`). */
  root(entry: MirrorEntry | undefined, names: readonly string[]): MirrorDirState {
    const held = HeldDir.open(this.opts.root);
    const setgid = (held.mode & 0o2000) !== 0;
    const listing = listDirInfo(held.self);
    this.opts.lister?.walk(this.opts.root);
    this.#root = new MirrorDirState(
      this.#host,
      held,
      undefined,
      "",
      this.opts.root,
      this.opts.previous,
      0,
      names,
      listing,
      entry,
      false,
      setgid,
    );
    return this.#root;
  }

  /**
   * Directory `dir` held open: while it is walked or has files being
   * written, its own descriptor; after, opened again from the root, each
   * step with O_NOFOLLOW and checked to be the directory it was (one
   * swapped for a link or another directory is refused). Valid until
   * {@link trim}.
   */
  reopen(dir: MirrorDirState): HeldDir {
    if (!dir.held.closed) return dir.held;
    dir.held = this.reopen(dir.parent!).child(dir.name, dir.held);
    this.#reopened.push(dir);
    return dir.held;
  }

  /** Closes reopened directories once there are many; call between steps, never inside one. */
  trim(all = false): void {
    if (!all && this.#reopened.length < REOPENED_MAX) return;
    for (const d of this.#reopened) d.held.close();
    this.#reopened = [];
  }

  /** Runs one deferred step on the entry at `at`, recording its failure by its path. */
  #at(at: Place, step: (held: HeldDir) => void): void {
    this.trim();
    this.guard(at.dir.shown(at.name), () => step(this.reopen(at.dir)));
  }

  /** A worker finished writing `target` (or failed to). */
  written(
    target: MirrorTarget,
    bytes: number,
    error?: string,
    retimed = false,
    warnings: readonly string[] = [],
  ): void {
    const dir = this.#targets.get(target);
    this.#targets.delete(target);
    for (const w of warnings) this.fail(target.path, w);
    if (error !== undefined) {
      this.fail(target.path, `not mirrored: ${error}`);
      // The worker removes what it wrote; make sure, as the directory will show it.
      if (target.fresh) this.guard(target.path, () => removeEntry(target.path));
    } else if (retimed) this.stats.retimed++;
    else {
      this.stats.written++;
      this.stats.bytes += bytes;
    }
    const waiter = this.#linkWaiters.get(target);
    if (waiter) {
      this.#linkWaiters.delete(target);
      const name = target.path.slice(target.path.lastIndexOf("/") + 1);
      waiter(error === undefined && dir ? { dir, name } : undefined);
    }
    if (dir) this.#release(dir);
  }

  /** Creates the symlinks, then sets directory metadata. Call after every file is written. */
  async finish(): Promise<void> {
    try {
      await this.#finish();
    } finally {
      this.trim(true);
      this.#root?.held.close();
    }
  }

  async #finish(): Promise<void> {
    await Promise.all(this.#pending);
    for (const s of this.#symlinks) {
      this.#at(s.at, (held) => {
        const path = held.at(s.at.name);
        if (s.fresh) {
          byteFs.symlinkSync(s.target, path);
          this.stats.symlinks++;
          this.#linkMetadata(path, s.entry);
          return;
        }
        const st = lstatOrNull(path, byteFs.lstatSync);
        if (st?.isDirectory) {
          if (!this.opts.purge) throw new Error("a directory is in the way (purge is off)");
          removeEntry(path);
        }
        symlinkInto(s.target, path);
        this.stats.symlinks++;
        this.#linkMetadata(path, s.entry);
      });
    }
    this.#dirs.sort((a, b) => b.depth - a.depth);
    for (const { dir, entry } of this.#dirs) {
      this.trim();
      if (entry) {
        this.guard(dir.path, () => {
          // xattrs by its name in its held parent (set without following a link); the rest
          // through the held directory itself (calls that follow its descriptor).
          const named = dir.parent ? this.reopen(dir.parent).at(dir.name) : dir.path;
          this.#dirMetadata(this.reopen(dir).self, named, entry);
        });
      }
      const final = this.#staged.get(dir.path);
      if (final !== undefined && dir.parent) {
        const parent = dir.parent;
        this.#at({ dir: parent, name: dir.name }, (held) => {
          unstage(held.at(dir.name), held.at(final.slice(final.lastIndexOf("/") + 1)));
        });
      }
    }
  }

  /** A symlink's own owner (as root), xattrs and times (never its target's). */
  #linkMetadata(path: string, e: MirrorEntry | undefined): void {
    if (!e) return;
    if (this.asRoot && platformSupported) setLinkOwner(path, e.uid, e.gid);
    for (const w of applyXattrs(path, e.xattrs)) this.fail(path, w);
    if (platformSupported) applyTimes(path, e);
  }

  /**
   * Sets the metadata of the held directory `path` (calls that follow its
   * descriptor), and its xattrs through `named`, its name in its parent.
   */
  #dirMetadata(path: string, named: string, e: MirrorEntry): void {
    const st = stat(path);
    if (!st.isDirectory) throw new Error("changed under the mirror; refusing to set its metadata");
    const mode = e.mode & MODE_MASK;
    if (this.asRoot && (st.uid !== e.uid || st.gid !== e.gid)) {
      this.ignoreEperm(() => byteFs.chownSync(path, e.uid, e.gid));
    }
    if (((st.mode ?? 0) & 0o7777) !== mode) byteFs.chmodSync(path, mode);
    for (const w of applyXattrs(named, e.xattrs)) this.fail(named, w);
    if (st.mtimeNs !== timesNs(e).mtime) applyTimes(path, e, { follow: true });
    for (const w of applyFlags(named, e.flags)) this.fail(named, w);
  }

  ignoreEperm(step: () => void): void {
    try {
      step();
    } catch (err) {
      if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
    }
  }

  /** Records a failure for one entry; the run goes on. */
  fail(path: string, err: unknown): void {
    const message = unheld(err instanceof Error ? err.message : String(err));
    const shown = this.#shown(unheld(path));
    this.errors.push({ path: shown, message });
    this.opts.onError?.(shown, message);
  }

  /** Where `path`, perhaps inside a directory still under its temp name, will be. */
  #shown(path: string): string {
    for (let cut = path.length; cut > 0; cut = path.lastIndexOf("/", cut - 1)) {
      const final = this.#staged.get(path.slice(0, cut));
      if (final !== undefined) return final + path.slice(cut);
    }
    return path;
  }

  guard(path: string, step: () => void): boolean {
    try {
      step();
      return true;
    } catch (err) {
      this.fail(path, err);
      return false;
    }
  }
}

/**
 * Moves a directory built under temp name `at` to its own name `final`, in
 * one rename (which replaces at most an empty directory that appeared there
 * meanwhile, and fails on anything else: the copy then stays under its temp
 * name until the next run removes it).
 */
function unstage(at: string, final: string): void {
  try {
    byteFs.renameSync(at, final);
  } catch (err) {
    throw new Error(
      `not mirrored: the new directory could not be moved into place: ${(err as Error).message}`,
    );
  }
}
