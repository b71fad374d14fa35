import {
  type ContentSource,
  CorruptError,
  cycleError,
  fileContent,
  InvalidTreeError,
  isSafeName,
  type Node,
  nsToDate,
  Repository,
  type Snapshot,
  type Tree,
  WalkBudget,
} from "../repo/mod.ts";
import { lstatOrNull } from "../fs/mod.ts";
import {
  byteFs,
  isRoot,
  lstatAtInto,
  setLinkOwner,
  setTimes,
  stat,
  supported as platformSupported,
} from "../platform/mod.ts";
import { type DirId, HeldDir, isFinalFile, isNewerFile, unheld } from "../heldfs/mod.ts";
import { IncludeFilter } from "./_include.ts";
import { XattrFilter } from "./_xattr_filter.ts";
import { Excluder } from "../walker/mod.ts";
import { clearSlot, setOwnerAndMode } from "./_safe_fs.ts";
import { makeSpecial } from "./_special.ts";
import { type FileSpec, setFlags, setXattrs, writeRestoredFile } from "./_write_file.ts";
import { RestoreBatch, RestorePool } from "./_pool.ts";

/**
 * What restore needs of a repository: trees, and the content of files
 * ({@link ContentSource}). `Repository` is one; so is anything that can
 * serve those, such as a test double or a cache in front of a repository.
 */
export interface RestoreRepo extends ContentSource {
  /** The tree `id`, decoded; throws if it is missing or damaged. */
  loadTree(id: string): Promise<Tree>;
}

/** What to restore and where; plain data shared by the CLI and other callers. */
export interface RestoreOptions {
  /** Directory to restore into (created if missing); the snapshot's `/` maps to it. */
  target: string;
  /** Globs on snapshot paths; see {@link IncludeFilter}. Default: everything. */
  include?: string[];
  /** Globs on snapshot paths to leave out (with what is below them), as backup's `--exclude`. */
  exclude?: string[];
  /** Like `exclude`, ignoring case. */
  iexclude?: string[];
  /** Also restore setuid/setgid/sticky bits, FIFOs and (as root) device nodes. */
  special?: boolean;
  /** Entries the walk may visit before it stops (default: {@link walkLimit}). */
  maxEntries?: number;
  /** Restore extended attributes (ACLs, capabilities) where permitted; default true. */
  xattrs?: boolean;
  /** Globs on attribute names not to restore (restic's `--exclude-xattr`). */
  excludeXattrs?: string[];
  /** Globs on attribute names: restore only these (restic's `--include-xattr`). */
  includeXattrs?: string[];
  /**
   * Worker threads that decrypt, decompress and write files (default
   * {@link defaultRestoreWorkers}); 0 writes them on the calling thread.
   */
  workers?: number;
  /**
   * What to do with a file or link already in the target, as restic 0.17's
   * `--overwrite`: `always` (default) writes it again; `if-changed` keeps a
   * file of the same size and mtime; `if-newer` keeps a file at least as new
   * as the snapshot's; `never` keeps whatever is there. Kept files are
   * counted in `skipped`; directories get their metadata either way.
   */
  overwrite?: Overwrite;
  /**
   * Remove what the target has and the snapshot does not, in every
   * directory restored (restic's `--delete`). Only without include or
   * exclude globs: what they leave out is not the snapshot's to judge.
   */
  delete?: boolean;
  /** Reread each file written and check its bytes against the blob ids (restic's `--verify`). */
  verify?: boolean;
  signal?: AbortSignal;
  /** Called for each entry skipped or restored only in part. */
  onWarning?: (path: string, message: string) => void;
  /** Called for each entry that could not be restored. */
  onError?: (path: string, message: string) => void;
  /** Called after each entry is restored. */
  onProgress?: (p: RestoreProgress) => void;
}

/** Does `--overwrite mode` keep the entry at `fsPath` instead of restoring `node` there? */
export function keepsExisting(mode: Overwrite, fsPath: string, node: Node): boolean {
  if (mode === "always") return false;
  const st = lstatOrNull(fsPath, byteFs.lstatSync);
  if (!st) return false;
  if (mode === "never") return !st.isDirectory;
  if (node.type === "symlink") {
    return st.isSymlink && byteFs.readLinkSync(fsPath) === (node.target ?? "");
  }
  const want = { size: node.size ?? 0, mtimeMs: nsToDate(node.mtime).getTime() };
  return mode === "if-changed" ? isFinalFile(st, want) : isNewerFile(st, want);
}

/** One entry's statx, reused: calls are synchronous. */
const AT_STAT = new Float64Array(16);
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/**
 * {@link keepsExisting} for `--overwrite if-changed` and a file, by entry
 * `name` of the directory held as `held`: statx by the directory's
 * descriptor into a reused buffer, no `Deno.FileInfo` and its Dates, no
 * path through `/proc/self/fd`. The same test as {@link isFinalFile}: a
 * regular file of the size, with the mtime to the millisecond. Undefined
 * where it does not apply (another mode or kind, no descriptor, a time
 * before 1970), for the caller to ask {@link keepsExisting}.
 */
function keepsUnchangedFile(
  mode: Overwrite,
  held: HeldDir,
  name: string,
  node: Node,
): boolean | undefined {
  if (mode !== "if-changed" || node.type !== "file" || held.fd < 0 || !platformSupported) {
    return undefined;
  }
  const mtime = node.mtime;
  if (mtime.length <= 6 || mtime[0] === "-") return undefined;
  try {
    lstatAtInto(held.fd, name, AT_STAT, 0);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  if ((AT_STAT[0] & S_IFMT) !== S_IFREG || AT_STAT[1] !== (node.size ?? 0)) return false;
  const sec = AT_STAT[2];
  if (sec < 0) return undefined;
  // Milliseconds as Date(ns / 1e6) truncates them, on both sides.
  return sec * 1000 + Math.floor(AT_STAT[3] / 1e6) === Number(mtime.slice(0, -6));
}

export const OVERWRITE_MODES = ["always", "if-changed", "if-newer", "never"] as const;
export type Overwrite = typeof OVERWRITE_MODES[number];

/** Live counters of a restore. */
export interface RestoreProgress {
  files: number;
  dirs: number;
  bytes: number;
  /** Snapshot path of the entry just restored. */
  path: string;
}

/** One problem with one entry, by its snapshot path. */
export interface RestoreIssue {
  path: string;
  message: string;
}

export interface RestoreResult {
  files: number;
  /** Files and links left as they were (see {@link RestoreOptions.overwrite}). */
  skipped: number;
  /** Entries removed by {@link RestoreOptions.delete}. */
  deleted: number;
  dirs: number;
  bytes: number;
  /** Entries deliberately skipped or changed (special files, dropped bits), or refused attributes. */
  warnings: RestoreIssue[];
  /**
   * Of {@link warnings}: extended attributes and file flags the target
   * refused (no permission, a file system without them). The data is restored.
   */
  refused: number;
  /** Entries that could not be restored (I/O errors, damaged data). */
  errors: RestoreIssue[];
}

interface DirFrame {
  /** Its name in its parent ("" for the target). */
  name: string;
  /** Open while its entries are restored, and while reopened by {@link Restorer.reopen}. */
  held?: HeldDir;
  /** Device and inode once made: a reopened directory must still be this one. */
  id?: DirId;
  /** Files of it being written now. */
  busy?: number;
  /** The walk is done with its entries. */
  left?: boolean;
  fsPath: string;
  snapPath: string;
  depth: number;
  node?: Node;
  parent?: DirFrame;
  made: boolean;
  /** The directory is setgid: new entries take its group. */
  setgid?: boolean;
  /** It was there before the restore (the target, or a directory found in place). */
  existed?: boolean;
}

interface Deferred {
  node: Node;
  dir: DirFrame;
  snapPath: string;
}

const SPECIAL_BITS = 0o7000;
/** Directories reopened after their walk kept open at most (then all are closed). */
const REOPENED_MAX = 64;
/** Files restored at once on the calling thread, and per worker. */
const FILES_IN_FLIGHT = 8;
/** Files up to this size go to workers in batches; larger ones alone, streamed. */
const BATCH_FILE_MAX = 1024 * 1024;
/**
 * A batch is sent once it holds this many files, bytes or directories,
 * at the next file that starts in a segment it does not hold (so that
 * neighbouring batches seldom open the same segment twice) ...
 */
const BATCH_SOFT = { files: 256, bytes: 4 * 1024 * 1024, dirs: 32 };
/** ... and at this many in any case. */
const BATCH_HARD = { files: 4096, bytes: 16 * 1024 * 1024, dirs: 256 };
/** Batches sent to each worker and not yet written, at most. */
const BATCHES_PER_WORKER = 2;

/** Files gathered for the next batch, with what the restore needs to account for each. */
interface PendingBatch {
  batch: RestoreBatch;
  entries: { dir: DirFrame; snapPath: string }[];
  dirs: Set<DirFrame>;
}

/**
 * One worker per core, at most four: the main thread's walk and reads feed
 * them. `s3:` repositories too, now that the S3 backend reads a pack's
 * segments ahead in windows (src/backend/_read_ahead.ts): before that, every
 * segment a worker opened was one GET on the main thread, and the pool took
 * twice the CPU of the main thread alone. A restore of the Linux tree from
 * RGW to disk, alternating, took 49.3, 22.2 and 39.0 s with 2 workers
 * against 74.7, 22.6 and 82.6 s on the main thread (user+sys about 36 s
 * against 22-41 s; peak 376-411 MB against 228-265 MB; load 7-20).
 */
export function defaultRestoreWorkers(_location = ""): number {
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
}
const SUID_SGID = 0o6000;

/**
 * Restores a snapshot (or the parts `include` selects) into `target`.
 *
 * Safety, as DESIGN.md asks: every name is re-checked to be one path
 * component; no link in the target, old or restored, is ever written
 * through: every entry is made inside a directory held open by descriptor
 * (`src/heldfs`), opened with O_NOFOLLOW and, when reopened, checked to be
 * the directory made before, so a directory swapped for a link mid-restore
 * redirects nothing; files are created with O_EXCL, anything in the way is
 * unlinked first; symlinks are created last; and
 * setuid/setgid bits and special files need `special`. Directory modes and
 * times are set last, deepest first, so writing children does not undo them.
 *
 * A hostile tree (one that reads but is invalid) stops the restore with a
 * CorruptError. A tree that cannot be read (damaged, missing) and a file
 * that cannot be written are recorded in `errors`, and the restore goes on
 * with everything else it can reach.
 */
export function restore(
  repo: RestoreRepo,
  snapshot: Pick<Snapshot, "tree">,
  opts: RestoreOptions,
): Promise<RestoreResult> {
  return new Restorer(repo, opts).run(snapshot.tree);
}

class Restorer {
  readonly #include: IncludeFilter;
  readonly #exclude: Excluder;
  readonly #asRoot = isRoot();
  readonly #dirs: DirFrame[] = [];
  readonly #symlinks: Deferred[] = [];
  /** `dev:inode` of a hard-linked file → where it was first restored. */
  readonly #linked = new Map<string, { dir: DirFrame; name: string }>();
  /** Directories reopened after their walk (see {@link reopen}). */
  #reopened: DirFrame[] = [];
  readonly #result: RestoreResult = {
    files: 0,
    skipped: 0,
    deleted: 0,
    dirs: 0,
    bytes: 0,
    warnings: [],
    refused: 0,
    errors: [],
  };
  /** Started on the first file to write: a restore in place over an unchanged tree needs none. */
  #pool: RestorePool | undefined;
  /** Files are written in workers (the pool started by `#poolNow`). */
  #pooled = false;
  /** Small files gathered for the next worker message (see {@link RestoreBatch}). */
  #pending: PendingBatch | undefined;
  /** Batches sent and not yet answered. */
  #batchesBusy = 0;
  readonly #xattrFilter: XattrFilter;

  constructor(private readonly repo: RestoreRepo, private readonly opts: RestoreOptions) {
    this.#include = new IncludeFilter(opts.include ?? []);
    this.#exclude = new Excluder(opts.exclude ?? [], opts.iexclude ?? []);
    this.#xattrFilter = new XattrFilter(opts.excludeXattrs, opts.includeXattrs);
  }

  async run(rootTree: string): Promise<RestoreResult> {
    const o = this.opts;
    if (o.delete && (o.include?.length || o.exclude?.length || o.iexclude?.length)) {
      throw new Error("delete cannot be combined with include or exclude globs");
    }
    Deno.mkdirSync(this.opts.target, { recursive: true, mode: 0o700 });
    // The target itself may be a link the user chose; everything below it is ours to check.
    const root = Deno.realPathSync(this.opts.target);
    if (!Deno.statSync(root).isDirectory) {
      throw new Error(`Restore target ${this.opts.target} is not a directory`);
    }
    const held = HeldDir.open(root);
    const setgid = (held.mode & 0o2000) !== 0;
    const frame: DirFrame = {
      name: "",
      held,
      id: { dev: held.dev, ino: held.ino },
      fsPath: root,
      snapPath: "/",
      depth: 0,
      made: true,
      setgid,
      // A target with entries is likely a restore in place.
      existed: byteFs.readDirNames(held.self).length > 0,
    };
    const workers = this.#workers;
    // Workers open segments themselves: that needs a repository's keys and storage.
    if (workers > 0 && this.repo instanceof Repository) {
      this.#pooled = true;
    }
    try {
      await this.#walk(rootTree, frame, this.#include.all);
      for (const s of this.#symlinks) this.#restoreSymlink(s);
      this.#dirs.sort((a, b) => b.depth - a.depth);
      for (const d of this.#dirs) this.#guard(d.snapPath, () => this.#dirMetadata(d));
    } finally {
      this.#pool?.close();
      this.#closeReopened();
      held.close();
    }
    return this.#result;
  }

  /**
   * `dir` held open: its walk's descriptor while that lasts, else opened
   * again from the target down, each step with O_NOFOLLOW and checked to be
   * the directory made then (a directory since swapped for a link, or for
   * another directory, is refused). Valid until the next call.
   */
  reopen(dir: DirFrame): HeldDir {
    if (dir.held && !dir.held.closed) return dir.held;
    if (this.#reopened.length >= REOPENED_MAX) this.#closeReopened();
    const parent = this.reopen(dir.parent!);
    dir.held = parent.child(dir.name, dir.id);
    this.#reopened.push(dir);
    return dir.held;
  }

  #closeReopened(): void {
    for (const d of this.#reopened) d.held?.close();
    this.#reopened = [];
  }

  /**
   * Restores everything below tree `rootTree`, depth first. The walk keeps
   * its own stack (tree depth is the data's choice), counts entries against
   * a {@link WalkBudget} and refuses a tree that contains itself. Files are
   * restored a few at a time: each waits on reads and decrypts that run off
   * the main thread, and overlapping them keeps it busy.
   */
  async #walk(rootTree: string, root: DirFrame, included: boolean): Promise<void> {
    const budget = new WalkBudget({ limit: this.opts.maxEntries, signal: this.opts.signal });
    const inFlight = new Set<Promise<unknown>>();
    const start = (step: Promise<unknown>) => {
      const p = step.finally(() => inFlight.delete(p));
      p.catch(() => {}); // an abort surfaces from the race or the final wait
      inFlight.add(p);
    };
    const stack: { treeId: string; nodes: Node[]; at: number; dir: DirFrame; included: boolean }[] =
      [];
    const onPath = new Set<string>();
    const enter = async (treeId: string, dir: DirFrame, included: boolean) => {
      if (onPath.has(treeId)) throw cycleError(treeId, dir.snapPath);
      let tree: Tree;
      try {
        tree = await this.repo.loadTree(treeId);
      } catch (err) {
        // A tree that cannot be read loses what is below it, not the restore;
        // one that reads but is invalid (hostile names) stops everything.
        if (err instanceof InvalidTreeError) throw err;
        const why = err instanceof Error ? err.message : String(err);
        return this.#fail(dir.snapPath, `directory not restored: tree ${treeId}: ${why}`);
      }
      onPath.add(treeId);
      stack.push({ treeId, nodes: tree.nodes, at: 0, dir, included });
    };
    try {
      await enter(rootTree, root, included);
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        if (top.at >= top.nodes.length) {
          stack.pop();
          onPath.delete(top.treeId);
          if (this.opts.delete && top.included && top.dir.made) {
            this.#deleteExtra(top.dir, top.nodes);
          }
          this.#leave(top.dir);
          continue;
        }
        const node = top.nodes[top.at++];
        if (inFlight.size >= this.#inFlightMax) await Promise.race(inFlight);
        while (this.#pool && this.#batchesBusy >= BATCHES_PER_WORKER * this.#workers) {
          await Promise.race(inFlight);
        }
        const wait = budget.spend();
        if (wait) await wait;
        const sub = this.#visit(node, top.treeId, top.dir, top.included, start);
        if (sub instanceof Promise) await sub;
        else if (sub) await enter(sub.treeId, sub.dir, sub.included);
      }
    } finally {
      // What the walk gathered before it stopped is written, as it would have been
      // one file at a time; only an abort drops it.
      if (this.opts.signal?.aborted) this.#dropPending();
      else this.#flush(start);
      await Promise.all(inFlight);
    }
  }

  /**
   * Restores one entry of directory `dir`; for a directory to walk into,
   * returns what to walk (or a promise while a special file or hard link
   * is restored alone).
   */
  #visit(
    node: Node,
    treeId: string,
    dir: DirFrame,
    included: boolean,
    start: (step: Promise<unknown>) => void,
  ): { treeId: string; dir: DirFrame; included: boolean } | Promise<unknown> | undefined {
    // loadTree checks names too; this restore does not depend on it.
    if (!isSafeName(node.name)) {
      throw new CorruptError(
        `Refusing to restore ${dir.snapPath}: tree ${treeId} has an entry named ${
          JSON.stringify(node.name)
        }, which is not a single path component`,
      );
    }
    const snapPath = dir.snapPath === "/" ? `/${node.name}` : `${dir.snapPath}/${node.name}`;
    if (this.#exclude.excludes(snapPath)) return undefined;
    const inc = included || this.#include.matches(snapPath, node.name);
    if (node.type === "dir") {
      const child: DirFrame = {
        name: node.name,
        fsPath: `${dir.fsPath}/${node.name}`,
        snapPath,
        depth: dir.depth + 1,
        node,
        parent: dir,
        made: false,
      };
      if (inc) this.#guard(snapPath, () => this.#ensureDir(child));
      if ((inc && child.made) || (!inc && this.#include.mayContain(snapPath))) {
        return { treeId: node.subtree!, dir: child, included: inc };
      }
      return undefined;
    }
    if (!inc) return undefined;
    if (!this.#guard(snapPath, () => this.#ensureDir(dir))) return undefined;
    const held = dir.held!;
    if (node.type === "symlink") this.#symlinks.push({ node, dir, snapPath });
    else if (node.type === "file") {
      if (this.#pooled && node.links <= 1 && (node.size ?? 0) <= BATCH_FILE_MAX) {
        return this.#guardAsync(snapPath, () => this.#batchFile(node, dir, held, snapPath, start));
      }
      // The directory stays open until its last file is written (see #leave).
      dir.busy = (dir.busy ?? 0) + 1;
      const restore = this.#guardAsync(snapPath, () => this.#restoreFile(node, dir, held, snapPath))
        .finally(() => {
          dir.busy!--;
          this.#closeIfDone(dir);
        });
      // A hard-linked file is restored alone: its other names link to it.
      if (node.links > 1) return restore;
      start(restore);
    } else return this.#guardAsync(snapPath, () => this.#restoreSpecial(node, held, snapPath));
    return undefined;
  }

  /** The worker pool, started now if it is not yet. */
  #poolNow(): RestorePool {
    return this.#pool ??= new RestorePool(this.repo as Repository, this.#workers);
  }

  get #inFlightMax(): number {
    return FILES_IN_FLIGHT * (this.#pooled ? this.#workers : 1);
  }

  /** Worker threads this restore writes files on (0: the calling thread). */
  get #workers(): number {
    const location = this.repo instanceof Repository ? this.repo.backend.location : "";
    return this.opts.workers ?? defaultRestoreWorkers(location);
  }

  /** The walk left `dir`: its descriptor closes once no file of it is being written. */
  #leave(dir: DirFrame): void {
    dir.left = true;
    this.#closeIfDone(dir);
  }

  #closeIfDone(dir: DirFrame): void {
    // The target's own descriptor stays open until the end: reopening starts there.
    if (dir.left && !dir.busy && dir.parent) dir.held?.close();
  }

  /** Creates `dir` and its missing ancestors as real directories, and holds it open. */
  #ensureDir(dir: DirFrame): void {
    // Outermost first, without recursion: the depth is the snapshot's.
    const missing: DirFrame[] = [];
    for (let d: DirFrame | undefined = dir; d && !d.made; d = d.parent) missing.push(d);
    for (const d of missing.reverse()) {
      // In a directory that was there already, its subdirectories likely are too.
      const likelyThere = d.parent!.existed === true;
      const { dir: held, made } = d.parent!.held!.ensureDir(d.name, { likelyThere });
      d.existed = !made;
      d.held = held;
      d.id = { dev: held.dev, ino: held.ino };
      d.setgid = (held.mode & 0o2000) !== 0;
      d.made = true;
      this.#dirs.push(d);
      this.#result.dirs++;
      this.#progress(d.snapPath);
    }
  }

  /**
   * Adds a small file to the next batch (see {@link RestoreBatch}), sending
   * the batch first when it is full. Its directory stays open until the
   * batch is written.
   */
  async #batchFile(
    node: Node,
    dir: DirFrame,
    held: HeldDir,
    snapPath: string,
    start: (step: Promise<unknown>) => void,
  ): Promise<void> {
    if (this.#keeps(held, node)) {
      this.#result.skipped++;
      this.#progress(snapPath);
      return;
    }
    const spec = this.#spec(node, dir, held, snapPath);
    const content = node.content ?? [];
    const p = this.#pending;
    if (p) {
      const b = p.batch;
      const over = (max: typeof BATCH_SOFT) =>
        b.files.length >= max.files || b.bytes >= max.bytes || p.dirs.size >= max.dirs;
      if (over(BATCH_HARD) || (over(BATCH_SOFT) && !(await b.holds(content[0])))) {
        this.#flush(start);
      }
    }
    const pending = this.#pending ??= {
      batch: new RestoreBatch(this.repo as Repository),
      entries: [],
      dirs: new Set(),
    };
    await pending.batch.add(spec, content);
    pending.entries.push({ dir, snapPath });
    pending.dirs.add(dir);
    dir.busy = (dir.busy ?? 0) + 1;
  }

  /** Sends the batch gathered so far to a worker; its outcome is accounted for file by file. */
  #flush(start: (step: Promise<unknown>) => void): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    this.#batchesBusy++;
    const done = this.#poolNow().writeBatch(p.batch).then(
      (results) => {
        for (let i = 0; i < results.length; i++) {
          const r = results[i];
          const { snapPath } = p.entries[i];
          if ("error" in r) {
            this.#fail(snapPath, new Error(r.error));
            continue;
          }
          this.#result.bytes += r.bytes;
          for (const w of r.warnings) this.#refused(snapPath, w);
          this.#result.files++;
          this.#progress(snapPath);
        }
      },
      (err) => {
        for (const { snapPath } of p.entries) this.#fail(snapPath, err);
      },
    ).finally(() => {
      this.#batchesBusy--;
      this.#release(p);
    });
    start(done);
  }

  /** The files of `p` are written (or never will be): their directories may close. */
  #release(p: PendingBatch): void {
    for (const { dir } of p.entries) {
      dir.busy!--;
      this.#closeIfDone(dir);
    }
  }

  /** A batch never sent (the walk stopped): its directories close. */
  #dropPending(): void {
    const p = this.#pending;
    this.#pending = undefined;
    if (p) this.#release(p);
  }

  /** What a restored file must end up as. */
  #spec(node: Node, dir: DirFrame, held: HeldDir, snapPath: string): FileSpec {
    const fsPath = held.at(node.name);
    return {
      path: fsPath,
      at: held.fd >= 0 ? { fd: held.fd, name: node.name } : undefined,
      size: node.size ?? 0,
      mode: this.#mode(node, snapPath),
      owner: this.#owner(node),
      setgidDir: dir.setgid === true,
      atimeNs: node.atime ?? node.mtime,
      mtimeNs: node.mtime,
      xattrs: this.opts.xattrs === false ? undefined : this.#xattrFilter.keep(node.xattrs),
      flags: this.opts.xattrs === false ? undefined : node.flags,
      verify: this.opts.verify ? { idKey: this.#idKey(), ids: node.content ?? [] } : undefined,
    };
  }

  async #restoreFile(
    node: Node,
    dir: DirFrame,
    held: HeldDir,
    snapPath: string,
  ): Promise<void> {
    const fsPath = held.at(node.name);
    const key = node.links > 1 ? `${node.dev}:${node.inode}` : undefined;
    if (this.#keeps(held, node)) {
      // Its other names link to the file kept (or are kept themselves).
      if (key !== undefined && !this.#linked.has(key)) {
        this.#linked.set(key, { dir, name: node.name });
      }
      this.#result.skipped++;
      this.#progress(snapPath);
      return;
    }
    const first = key === undefined ? undefined : this.#linked.get(key);
    if (first !== undefined) {
      const from = this.reopen(first.dir).at(first.name);
      if (!lstatOrNull(from, byteFs.lstatSync)?.isFile) {
        throw new Error(`hard link source ${first.dir.fsPath}/${first.name} is gone`);
      }
      clearSlot(fsPath);
      // link(2) does not follow a link at `from`; both paths are held.
      byteFs.linkSync(from, fsPath);
      this.#result.files++;
      this.#progress(snapPath);
      return;
    }
    const spec = this.#spec(node, dir, held, snapPath);
    const content = node.content ?? [];
    const { bytes, warnings } = this.#pooled
      ? await this.#poolNow().write(spec, content)
      : await writeRestoredFile(
        spec,
        fileContent(this.repo, content, { signal: this.opts.signal, size: node.size }),
      );
    this.#result.bytes += bytes;
    for (const w of warnings) this.#refused(snapPath, w);
    if (key !== undefined) this.#linked.set(key, { dir, name: node.name });
    this.#result.files++;
    this.#progress(snapPath);
  }

  /**
   * Removes the entries of `dir` its tree does not name, through the held
   * directory (a link is removed, never followed; a directory goes with
   * everything below it).
   */
  #deleteExtra(dir: DirFrame, nodes: readonly Node[]): void {
    const held = dir.held;
    if (!held || held.closed) return;
    const keep = new Set(nodes.map((n) => n.name));
    for (const name of byteFs.readDirNames(held.self)) {
      if (keep.has(name)) continue;
      const snapPath = dir.snapPath === "/" ? `/${name}` : `${dir.snapPath}/${name}`;
      this.#guard(snapPath, () => {
        const at = held.at(name);
        byteFs.removeSync(at, { recursive: byteFs.lstatSync(at).isDirectory });
        this.#result.deleted++;
      });
    }
  }

  #idKey(): Uint8Array {
    if (!(this.repo instanceof Repository)) throw new Error("verify needs a repository's keys");
    return this.repo.master.id;
  }

  /** Does `--overwrite` keep the entry at `fsPath` instead of restoring `node` there? */
  #keeps(held: HeldDir, node: Node): boolean {
    const mode = this.opts.overwrite ?? "always";
    if (mode === "always") return false;
    return keepsUnchangedFile(mode, held, node.name, node) ??
      keepsExisting(mode, held.at(node.name), node);
  }

  async #restoreSpecial(node: Node, held: HeldDir, snapPath: string): Promise<void> {
    const fsPath = held.at(node.name);
    if (node.type === "socket") {
      return this.#warn(snapPath, "socket not restored: a socket belongs to a running program");
    }
    if (!this.opts.special) {
      const what = node.type === "fifo" ? "FIFO" : "device node";
      return this.#warn(snapPath, `${what} not restored (use --special to restore it)`);
    }
    if (node.type !== "fifo" && !this.#asRoot) {
      return this.#warn(snapPath, "device node not restored: creating one needs root");
    }
    clearSlot(fsPath);
    try {
      await makeSpecial(held.atForChild(node.name), node);
    } catch (err) {
      return this.#warn(snapPath, `not restored: ${(err as Error).message}`);
    }
    const isKind = (st: Deno.FileInfo) =>
      node.type === "fifo"
        ? st.isFifo === true
        : node.type === "chardev"
        ? st.isCharDevice === true
        : st.isBlockDevice === true;
    setOwnerAndMode(fsPath, isKind, this.#owner(node), this.#mode(node, snapPath));
    this.#setXattrs(node, fsPath, snapPath);
    setTimes(fsPath, node.atime ?? node.mtime, node.mtime);
    this.#result.files++;
    this.#progress(snapPath);
  }

  #restoreSymlink({ node, dir, snapPath }: Deferred): void {
    this.#guard(snapPath, () => {
      let held: HeldDir;
      try {
        held = this.reopen(dir);
      } catch (err) {
        throw new Error(
          `its parent directory was replaced; refusing to create the link (${
            (err as Error).message
          })`,
        );
      }
      const fsPath = held.at(node.name);
      if (this.#keeps(held, node)) {
        this.#result.skipped++;
        return this.#progress(snapPath);
      }
      clearSlot(fsPath);
      byteFs.symlinkSync(node.target ?? "", fsPath);
      // The link's own owner and times, as rsync -a and restic keep them.
      const owner = this.#owner(node);
      if (owner && platformSupported) setLinkOwner(fsPath, owner.uid, owner.gid);
      this.#setXattrs(node, fsPath, snapPath);
      if (platformSupported) {
        setTimes(fsPath, node.atime ?? node.mtime, node.mtime);
      }
      this.#result.files++;
      this.#progress(snapPath);
    });
  }

  #dirMetadata(d: DirFrame): void {
    const node = d.node!;
    // xattrs by its name in its held parent (they are set without following a link) ...
    this.#setXattrs(node, this.reopen(d.parent!).at(d.name), d.snapPath);
    // ... then the held directory itself: chmod, chown and utime follow its descriptor.
    const self = this.reopen(d).self;
    const owner = this.#owner(node);
    const mode = this.#mode(node, d.snapPath);
    const atime = node.atime ?? node.mtime;
    // A directory that was there may already be right (a restore in place
    // over an unchanged tree): each call is made only when it changes
    // something. A new one was made 0700, owned by us, with the time of now.
    const st = d.existed ? stat(self) : undefined;
    const chown = owner && (!st || st.uid !== owner.uid || st.gid !== owner.gid);
    if (chown) {
      try {
        Deno.chownSync(self, owner.uid, owner.gid);
      } catch (err) {
        if (!(err instanceof Deno.errors.PermissionDenied)) throw err;
      }
    }
    // After a chown always: it may clear the setgid bit.
    if (chown || !st || (st.mode! & 0o7777) !== mode) Deno.chmodSync(self, mode);
    if (!st || st.atimeNs !== atime || st.mtimeNs !== node.mtime) {
      setTimes(self, atime, node.mtime, { follow: true });
    }
    // Last, once all it holds is written: an immutable directory takes no new entry.
    if (this.opts.xattrs !== false) {
      for (const w of setFlags(this.reopen(d.parent!).at(d.name), node.flags)) {
        this.#refused(d.snapPath, w);
      }
    }
  }

  /**
   * Sets the node's xattrs on `fsPath` itself (never through a link). One
   * that cannot be set (no permission, a filesystem without xattrs) is a
   * warning naming it; the entry's data stays restored.
   */
  #setXattrs(node: Node, fsPath: string, snapPath: string): void {
    if (this.opts.xattrs === false) return;
    for (const w of setXattrs(fsPath, this.#xattrFilter.keep(node.xattrs))) {
      this.#refused(snapPath, w);
    }
  }

  /** A warning that the target refused an attribute (an xattr or a file flag). */
  #refused(path: string, shown: string): void {
    this.#result.refused++;
    this.#warn(path, shown);
  }

  #owner(node: Node): { uid: number; gid: number } | null {
    return this.#asRoot ? { uid: node.uid, gid: node.gid } : null;
  }

  #mode(node: Node, snapPath: string): number {
    if (this.opts.special) return node.mode & 0o7777;
    if (node.mode & SUID_SGID) {
      this.#warn(snapPath, "setuid/setgid bits not restored (use --special to keep them)");
    }
    return node.mode & 0o7777 & ~SPECIAL_BITS;
  }

  #warn(path: string, shown: string): void {
    const message = unheld(shown);
    this.#result.warnings.push({ path, message });
    this.opts.onWarning?.(path, message);
  }

  #progress(path: string): void {
    const r = this.#result;
    this.opts.onProgress?.({ files: r.files, dirs: r.dirs, bytes: r.bytes, path });
  }

  /** Runs one entry's step; a failure is recorded for that entry. Returns success. */
  #guard(path: string, step: () => void): boolean {
    try {
      step();
      return true;
    } catch (err) {
      this.#fail(path, err);
      return false;
    }
  }

  async #guardAsync(path: string, step: () => Promise<void>): Promise<boolean> {
    try {
      await step();
      return true;
    } catch (err) {
      this.#fail(path, err);
      return false;
    }
  }

  #fail(path: string, err: unknown): void {
    // Aborts and hostile trees end the whole restore; I/O trouble is per entry.
    if (this.opts.signal?.aborted) throw this.opts.signal.reason;
    const message = unheld(err instanceof Error ? err.message : String(err));
    this.#result.errors.push({ path, message });
    this.opts.onError?.(path, message);
  }
}
