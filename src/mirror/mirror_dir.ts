import type { MirrorDir, MirrorEntry, MirrorTarget, ParentFile } from "../archiver/mod.ts";
import { type HeldDir, isFinalFile } from "../heldfs/mod.ts";
import {
  byteFs,
  type FileStat,
  setLinkOwner,
  supported as platformSupported,
} from "../platform/mod.ts";
import { linkInto, removeEntry } from "./_fs.ts";
import { infoByName, listDirInfo, MODE_MASK, type Place, type TreeHost } from "./_dir_host.ts";
import { applyTimes, MIRROR_TEMP_PREFIX, tempBeside, timesNs } from "./file_writer.ts";
import { RESERVED_NAMES } from "./marker.ts";
import type { MirrorTree } from "./mirror_tree.ts";

/** One mirrored directory while its entries are visited; see {@link MirrorDir}. */
export class MirrorDirState implements MirrorDir {
  #listing = new Map<string, Deno.FileInfo>();
  #previous: Map<string, Deno.FileInfo> | undefined;
  readonly #host: TreeHost;
  /** The directory's own flags: a new file in it inherits some (ext4's `A`, `d`, ...). */
  readonly #flags: number;
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
    this.#flags = entry?.flags ?? 0;
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
        byteFs.mkdirSync(this.held.at(tmp), { mode: 0o700 });
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
    const final = (f: Deno.FileInfo) => !e.volatile && sameFile(f, e);
    if (cur && final(cur) && (cur.nlink === 1 || sameMeta(cur, e, tree.asRoot))) {
      this.#fixMetadata(path, cur, e);
      return settle(here, cur.ino ?? undefined);
    }
    if (!this.#clear(path, cur)) return settle(undefined);
    if (this.prev !== undefined) {
      this.#previous ??= listDirInfo(this.prev);
      const p = this.#previous.get(name);
      if (p && final(p) && sameMeta(p, e, tree.asRoot)) {
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
    if (e.mtimeNs !== undefined) target.mtimeNs = e.mtimeNs;
    if (e.atimeNs !== undefined) target.atimeNs = e.atimeNs;
    if (e.xattrs) target.xattrs = e.xattrs;
    if (e.flags || this.#flags) target.flags = e.flags ?? 0;
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
        if (byteFs.readLinkSync(path) === target) {
          this.#tree.stats.unchanged++;
          // The same link with another owner or time gets the source's (one from an older cairn).
          const tree = this.#tree;
          if (
            entry && platformSupported && tree.asRoot &&
            (cur.uid !== entry.uid || cur.gid !== entry.gid)
          ) tree.guard(path, () => setLinkOwner(path, entry.uid, entry.gid));
          if (entry && platformSupported && (cur as FileStat).mtimeNs !== timesNs(entry).mtime) {
            this.#tree.guard(path, () => applyTimes(path, entry));
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
        tree.ignoreEperm(() => byteFs.chownSync(path, e.uid, e.gid));
      }
      byteFs.chmodSync(path, e.mode & MODE_MASK);
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

function baseName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The fast-mirror rule, restore's `--overwrite if-changed` too: one implementation. */
const sameFile = isFinalFile;

function sameMeta(st: Deno.FileInfo, e: MirrorEntry, asRoot: boolean): boolean {
  return ((st.mode ?? 0) & 0o7777) === (e.mode & MODE_MASK) &&
    (!asRoot || (st.uid === e.uid && st.gid === e.gid));
}
