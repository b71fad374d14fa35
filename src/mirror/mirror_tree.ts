import type { MirrorDir, MirrorEntry, MirrorTarget, ParentFile } from "../archiver/mod.ts";
import { HeldDir, unheld } from "../heldfs/mod.ts";
import { isRoot, setLinkTimes, supported as platformSupported } from "../platform/mod.ts";
import { lstatOrNull } from "../fs/mod.ts";
import { type DirLister, listDir, type Listing } from "../walker/mod.ts";
import { linkInto, removeEntry, symlinkInto } from "./_fs.ts";
import { applyXattrs, MIRROR_TEMP_PREFIX, tempBeside } from "./file_writer.ts";
import { RESERVED_NAMES } from "./marker.ts";

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

/** Where an entry of the mirror is: a directory of this run and a name in it. */
interface Place {
  dir: MirrorDirState;
  name: string;
}

/**
 * What a directory asks of its tree beyond the tree's public API: the
 * bookkeeping of the steps that wait for the end of the run. Only
 * {@link MirrorTree} makes one (it closes over the tree's private state), and
 * hands it to the directories it creates, so none of this is public.
 */
interface TreeHost {
  readonly tree: MirrorTree;
  /** Directory `dir` is part of the run (`made`: created by it); its metadata is set last. */
  addDir(dir: MirrorDirState, entry: MirrorEntry | undefined, depth: number, made: boolean): void;
  firstLink(key: string): FirstLink | undefined;
  /** The first link of `key` is at `at` now; `ino` is the inode it kept there. */
  setFirstLink(key: string, at: Place | undefined, ino?: number): void;
  /** The first link of `key` is the file `target` once it is written. */
  setFirstLinkPending(key: string, target: MirrorTarget): void;
  /** Links `at` to the first link's copy once that is written. */
  linkLater(first: Promise<Place | undefined>, at: Place, exists: boolean): void;
  symlinkLater(at: Place, target: string, fresh: boolean, entry?: MirrorEntry): void;
  /** Directory `at` is built for `final`, and renamed there by {@link MirrorTree.finish}. */
  stage(at: string, final: string): void;
  /** `target` is handed to a writer: its directory stays open until it is written. */
  handOut(target: MirrorTarget, dir: MirrorDirState): MirrorTarget;
  /**
   * `dir` is done with (its walk is over, or a file or link in it is written):
   * the last release closes it (the root stays open until finish).
   */
  release(dir: MirrorDirState): void;
}

/** Directories reopened after their walk kept open at most (then all are closed). */
const REOPENED_MAX = 64;

/** Setuid/setgid bits are never mirrored (DESIGN.md: not unless asked for). */
const MODE_MASK = 0o1777;

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
          Deno.symlinkSync(s.target, path);
          this.stats.symlinks++;
          this.#linkMetadata(path, s.entry);
          return;
        }
        const st = lstatOrNull(path);
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

  /** A symlink's own xattrs and times (never its target's). */
  #linkMetadata(path: string, e: MirrorEntry | undefined): void {
    if (!e) return;
    for (const w of applyXattrs(path, e.xattrs)) this.fail(path, w);
    if (platformSupported) {
      const ns = (ms: number) => BigInt(ms) * 1_000_000n;
      setLinkTimes(path, ns(e.atimeMs ?? e.mtimeMs), ns(e.mtimeMs));
    }
  }

  /**
   * Sets the metadata of the held directory `path` (calls that follow its
   * descriptor), and its xattrs through `named`, its name in its parent.
   */
  #dirMetadata(path: string, named: string, e: MirrorEntry): void {
    const st = Deno.statSync(path);
    if (!st.isDirectory) throw new Error("changed under the mirror; refusing to set its metadata");
    const mode = e.mode & MODE_MASK;
    if (this.asRoot && (st.uid !== e.uid || st.gid !== e.gid)) {
      this.ignoreEperm(() => Deno.chownSync(path, e.uid, e.gid));
    }
    if (((st.mode ?? 0) & 0o7777) !== mode) Deno.chmodSync(path, mode);
    for (const w of applyXattrs(named, e.xattrs)) this.fail(named, w);
    if (st.mtime?.getTime() !== e.mtimeMs) {
      Deno.utimeSync(path, new Date(e.atimeMs ?? e.mtimeMs), new Date(e.mtimeMs));
    }
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

/** One mirrored directory while its entries are visited; see {@link MirrorDir}. */
export class MirrorDirState implements MirrorDir {
  #listing = new Map<string, Deno.FileInfo>();
  #previous: Map<string, Deno.FileInfo> | undefined;
  readonly #host: TreeHost;
  get #tree(): MirrorTree {
    return this.#host.tree;
  }

  constructor(
    /** Made by the tree only (see {@link MirrorTree.root}). */
    host: TreeHost,
    /** The directory, held open (see {@link MirrorTree.reopen}). */
    public held: HeldDir,
    readonly parent: MirrorDirState | undefined,
    /** Its name in `parent` (a temp name while it is built out of sight). */
    readonly name: string,
    /** Where it is (for messages, and the lister). */
    readonly path: string,
    private readonly prev: string | undefined,
    private readonly depth: number,
    names: readonly string[],
    /** What the directory holds; undefined when it is new. */
    listing: Map<string, Deno.FileInfo> | undefined,
    entry: MirrorEntry | undefined,
    /** New to the mirror, under a name nobody sees yet: everything in it is new. */
    private readonly fresh = false,
    /** Setgid: new entries take its group. */
    private readonly setgid = false,
  ) {
    this.#host = host;
    const tree = host.tree;
    host.addDir(this, entry, depth, listing === undefined);
    if (listing) this.#listing = listing;
    const wanted = new Set(names);
    for (const name of this.#listing.keys()) {
      if (wanted.has(name) || (depth === 0 && RESERVED_NAMES.includes(name))) continue;
      // Temp files are a crashed run's leftovers (this run lists a directory before writing into it).
      if (name.startsWith(MIRROR_TEMP_PREFIX) || tree.opts.purge) this.#remove(name);
    }
  }

  /**
   * {@link child}, with the listing of an existing subdirectory taken from
   * the tree's lister when it has it: the mirror's readdir and lstat calls
   * run in its thread, ahead of the walk.
   */
  async subdir(
    name: string,
    entry: MirrorEntry,
    names: readonly string[],
  ): Promise<MirrorDirState | undefined> {
    const lister = this.#tree.opts.lister;
    if (!lister || this.fresh || !this.#listing.get(name)?.isDirectory) {
      return this.child(name, entry, names);
    }
    let listing: Map<string, Deno.FileInfo> | undefined;
    try {
      const got = await lister.take(this.shown(name));
      if (got) listing = infoByName(got);
    } catch {
      listing = new Map(); // as listDirInfo: what cannot be listed holds nothing we know of
    }
    return this.child(name, entry, names, listing);
  }

  /** The mirror directory for subdirectory `name`, created if missing. */
  child(
    name: string,
    entry: MirrorEntry,
    names: readonly string[],
    listing?: Map<string, Deno.FileInfo>,
  ): MirrorDirState | undefined {
    if (this.#reserved(name)) return undefined;
    const tree = this.#tree;
    const path = this.shown(name);
    const prev = this.prev === undefined ? undefined : `${this.prev}/${name}`;
    const cur = this.#listing.get(name);
    if (this.fresh || !cur) {
      // New: built out of sight, under a temp name unless its parent already is.
      const tmp = this.fresh ? name : baseName(tempBeside(path));
      let held: HeldDir | undefined;
      tree.guard(path, () => {
        Deno.mkdirSync(this.held.at(tmp), { mode: 0o700 });
        held = this.held.child(tmp);
      });
      if (!held) return undefined;
      const at = this.shown(tmp);
      if (!this.fresh) this.#host.stage(at, path);
      return new MirrorDirState(
        this.#host,
        held,
        this,
        tmp,
        at,
        prev,
        this.depth + 1,
        names,
        undefined,
        entry,
        true,
        this.setgid,
      );
    }
    if (!cur.isDirectory) {
      this.#listing.delete(name);
      tree.stats.removed++; // ensureDir replaces it
    }
    let held: HeldDir | undefined;
    if (!tree.guard(path, () => held = this.held.ensureDir(name).dir)) return undefined;
    const setgid = cur.isDirectory ? ((cur.mode ?? 0) & 0o2000) !== 0 : this.setgid;
    return new MirrorDirState(
      this.#host,
      held!,
      this,
      name,
      path,
      prev,
      this.depth + 1,
      names,
      cur.isDirectory ? listing ?? listDirInfo(held!.self) : undefined,
      entry,
      false,
      setgid,
    );
  }

  file(name: string, e: MirrorEntry, parent?: ParentFile): MirrorTarget | undefined {
    if (this.#reserved(name)) return undefined;
    const tree = this.#tree;
    const path = this.held.at(name);
    const mode = e.mode & MODE_MASK;
    const cur = this.#listing.get(name);
    const first = e.linkKey === undefined ? undefined : this.#host.firstLink(e.linkKey);
    const here: Place = { dir: this, name };
    if (first) {
      // Another name of a file already placed: it must end up as that very copy.
      // Equal size and mtime are not enough: the first name may have been rewritten.
      if (cur && first.ino !== undefined && cur.ino === first.ino) this.#fixMetadata(path, cur, e);
      else if (this.#clear(path, cur)) this.#host.linkLater(first.at, here, cur !== undefined);
      return undefined;
    }
    const settle = (at: Place | undefined, ino?: number) => {
      if (e.linkKey !== undefined) this.#host.setFirstLink(e.linkKey, at, ino);
      return undefined;
    };
    // A file with other links must not be chmod-ed in place: it may be a
    // previous version's copy too, so it is rewritten instead.
    if (cur && sameFile(cur, e) && (cur.nlink === 1 || sameMeta(cur, e, tree.asRoot))) {
      this.#fixMetadata(path, cur, e);
      return settle(here, cur.ino ?? undefined);
    }
    if (!this.#clear(path, cur)) return settle(undefined);
    if (this.prev !== undefined) {
      this.#previous ??= listDirInfo(this.prev);
      const p = this.#previous.get(name);
      if (p && sameFile(p, e) && sameMeta(p, e, tree.asRoot)) {
        try {
          linkInto(`${this.prev}/${name}`, path, !!cur);
          tree.stats.linked++;
          return settle(here);
        } catch {
          // Too many links (EMLINK), another filesystem…: the file is copied instead.
        }
      }
    }
    const target: MirrorTarget = { path, mode, mtimeMs: e.mtimeMs };
    if (this.fresh) target.fresh = true;
    if (this.setgid) target.dirGroup = true;
    if (e.atimeMs !== undefined) target.atimeMs = e.atimeMs;
    if (e.xattrs) target.xattrs = e.xattrs;
    if (tree.asRoot) target.owner = { uid: e.uid, gid: e.gid };
    // The mirror still holds the parent snapshot's version: if the bytes read
    // turn out the same, the worker only sets metadata. Not for a file with
    // other links, whose times are shared with them.
    if (parent && cur?.isFile && cur.nlink === 1 && sameFile(cur, parent)) {
      target.expect = parent.content;
    }
    if (e.linkKey !== undefined) this.#host.setFirstLinkPending(e.linkKey, target);
    return this.#host.handOut(target, this);
  }

  symlink(name: string, target: string, entry?: MirrorEntry): void {
    if (this.#reserved(name)) return;
    const cur = this.#listing.get(name);
    if (cur?.isSymlink) {
      try {
        const path = this.held.at(name);
        if (Deno.readLinkSync(path) === target) {
          this.#tree.stats.unchanged++;
          // The same link with another time gets the source's (a link from an older cairn).
          if (entry && platformSupported && cur.mtime?.getTime() !== entry.mtimeMs) {
            const ns = (ms: number) => BigInt(ms) * 1_000_000n;
            this.#tree.guard(
              path,
              () => setLinkTimes(path, ns(entry.atimeMs ?? entry.mtimeMs), ns(entry.mtimeMs)),
            );
          }
          return;
        }
      } catch { /* replaced below */ }
    }
    this.#host.symlinkLater({ dir: this, name }, target, this.fresh, entry);
  }

  drop(name: string): void {
    if (this.#listing.has(name) && this.#tree.opts.purge) this.#remove(name);
  }

  done(): void {
    this.#listing = new Map();
    this.#previous = undefined;
    this.#host.release(this);
  }

  /** Where entry `name` is, for messages. */
  shown(name: string): string {
    return `${this.path === "/" ? "" : this.path}/${name}`;
  }

  /** cairn's own names (marker, lock) are not mirrored at the top; everything else is. */
  #reserved(name: string): boolean {
    const ours = RESERVED_NAMES.includes(name) || name.startsWith(MIRROR_TEMP_PREFIX);
    if (this.depth !== 0 || !ours) return false;
    this.#tree.fail(this.shown(name), "not mirrored: the name is reserved for cairn");
    return true;
  }

  /** Makes room for a file: a directory in the way goes only with purge. */
  #clear(path: string, cur: Deno.FileInfo | undefined): boolean {
    if (!cur?.isDirectory) return true;
    if (!this.#tree.opts.purge) {
      this.#tree.fail(path, "not mirrored: a directory is in the way (purge is off)");
      return false;
    }
    return this.#tree.guard(path, () => {
      removeEntry(path);
      this.#listing.delete(path.slice(path.lastIndexOf("/") + 1));
      this.#tree.stats.removed++;
    });
  }

  #fixMetadata(path: string, cur: Deno.FileInfo, e: MirrorEntry): void {
    const tree = this.#tree;
    tree.stats.unchanged++;
    if (sameMeta(cur, e, tree.asRoot)) return;
    tree.guard(path, () => {
      // `cur` came from lstat: a regular file, so chmod does not follow a link.
      if (tree.asRoot && (cur.uid !== e.uid || cur.gid !== e.gid)) {
        tree.ignoreEperm(() => Deno.chownSync(path, e.uid, e.gid));
      }
      Deno.chmodSync(path, e.mode & MODE_MASK);
    });
  }

  #remove(name: string): void {
    const path = this.held.at(name);
    if (this.#tree.guard(path, () => removeEntry(path))) {
      this.#listing.delete(name);
      if (!name.startsWith(MIRROR_TEMP_PREFIX)) this.#tree.stats.removed++;
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
    Deno.renameSync(at, final);
  } catch (err) {
    throw new Error(
      `not mirrored: the new directory could not be moved into place: ${(err as Error).message}`,
    );
  }
}

/** Where the first name of a hard-linked file went, for its other names. */
interface FirstLink {
  at: Promise<Place | undefined>;
  /** The inode it kept, when it was left in place. */
  ino?: number;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** lstat of every entry of `dir` by name (see `listDir`); empty when it cannot be listed. */
function listDirInfo(dir: string): Map<string, Deno.FileInfo> {
  try {
    return infoByName(listDir(dir));
  } catch {
    return new Map();
  }
}

function infoByName(listing: Listing): Map<string, Deno.FileInfo> {
  return new Map(listing.entries.map((e) => [e.name, e.info]));
}

/** The fast-mirror rule: a regular file of the same size and mtime is the same file. */
function sameFile(st: Deno.FileInfo, e: { size: number; mtimeMs: number }): boolean {
  return st.isFile && st.size === e.size && st.mtime?.getTime() === e.mtimeMs;
}

function sameMeta(st: Deno.FileInfo, e: MirrorEntry, asRoot: boolean): boolean {
  return ((st.mode ?? 0) & 0o7777) === (e.mode & MODE_MASK) &&
    (!asRoot || (st.uid === e.uid && st.gid === e.gid));
}
