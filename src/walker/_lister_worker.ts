/// <reference lib="deno.worker" />
/**
 * The directory lister's worker: walks the sources depth first in the
 * order the backup visits them, lists each directory with `listDir` (sync
 * readdir and lstat, the main thread's costliest calls on an unchanged
 * tree) and sends the listings ahead in batches, pausing while a window of
 * entries waits to be consumed.
 */
import { boundHeap, byteFs, lstatInto, traceMemory } from "../platform/mod.ts";
import { Excluder } from "./excluder.ts";
import { hasMarker } from "./markers.ts";
import { listDir, type WalkError } from "./list_dir.ts";
import {
  type EncodedListing,
  FIELDS,
  type FromLister,
  type ListerInit,
  type ToLister,
} from "./_lister_protocol.ts";

/** Entries per message: large enough to spare per-message costs, small enough to start early. */
const BATCH_ENTRIES = 512;
/**
 * The first message's entries: the walk waits for it, so a walk's first
 * batches are small and grow to {@link BATCH_ENTRIES} (an unchanged
 * kernel-tree rerun waited 66-172 ms for its first 512 entries).
 */
const FIRST_BATCH = 16;

let opts: ListerInit | undefined;
let excluder = new Excluder();
let devs: Set<number> | null = null;
const roots: string[] = [];
/** Directories still to list in the current root, the next on top. */
const stack: string[] = [];
let current: string | undefined;
let outstanding = 0;
let batch: EncodedListing[] = [];
let batchEntries = 0;
let batchLimit = FIRST_BATCH;

const post = (m: FromLister) => self.postMessage(m);
traceMemory("lister");
boundHeap();

function flush(): void {
  if (batch.length === 0) return;
  post({ type: "listings", items: batch });
  batch = [];
  batchEntries = 0;
  batchLimit = Math.min(batchLimit * 2, BATCH_ENTRIES);
}

/**
 * Lists one directory as `listDir` does (sorted names, an error for each
 * entry that cannot be lstat'ed), each lstat written straight into the
 * message's numbers: `listDir`'s objects, four `Date`s and three strings
 * per entry were most of this thread's JS time, and it paces the walk.
 */
function listPacked(dir: string): EncodedListing {
  const all = byteFs.readDirNames(dir);
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  const nums = new Float64Array(all.length * FIELDS);
  const names: string[] = [];
  const errors: WalkError[] = [];
  for (const name of all) {
    const path = base + name;
    try {
      lstatInto(path, nums, names.length * FIELDS);
      names.push(name);
    } catch (err) {
      errors.push({ path, message: (err as Error).message });
    }
  }
  const used = names.length * FIELDS;
  return { dir, names, nums: used === nums.length ? nums : nums.slice(0, used), errors };
}

/** Lists one directory and queues the subdirectories the backup will walk. */
function visit(dir: string): void {
  let listing;
  try {
    listing = listPacked(dir);
  } catch (err) {
    batch.push({
      dir,
      names: [],
      nums: new Float64Array(0),
      errors: [],
      error: (err as Error).message,
    });
    outstanding++;
    return;
  }
  const { names, nums } = listing;
  batch.push(listing);
  batchEntries += names.length;
  outstanding += names.length + 1;
  // The same decisions as the archiver's walk: a marker leaves the whole
  // directory out, excluded and other-device directories are not entered.
  if (hasMarker(dir, names, opts!.markers)) return;
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  for (let i = names.length - 1; i >= 0; i--) {
    if ((nums[i * FIELDS] & S_IFMT) !== S_IFDIR) continue;
    const path = base + names[i];
    if (excluder.excludes(path)) continue;
    if (devs && !devs.has(nums[i * FIELDS + DEV] || 0)) continue;
    stack.push(path);
  }
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
/** Where the device number is among an entry's numbers (see `lstatInto`). */
const DEV = 13;

function pump(): void {
  while (outstanding < opts!.window) {
    if (stack.length === 0) {
      if (current !== undefined) {
        flush();
        post({ type: "done", root: current });
        current = undefined;
      }
      const next = roots.shift();
      if (next === undefined) break;
      current = next;
      stack.push(next);
    }
    visit(stack.pop()!);
    if (batchEntries >= batchLimit) flush();
  }
  flush();
}

/**
 * A counting walk for progress totals: every file the backup will visit
 * (same rules, plus `largerThan`), each hard-linked file once, posting
 * running totals about ten times a second and once at the end.
 */
function count(roots: string[], largerThan: number | null): void {
  const totals = { files: 0, dirs: 0, bytes: 0 };
  const links = new Set<string>();
  let posted = Date.now();
  const addFile = (info: Deno.FileInfo) => {
    if (largerThan !== null && info.size > largerThan) return;
    if ((info.nlink ?? 1) > 1) {
      const key = `${info.dev}:${info.ino}`;
      if (links.has(key)) return;
      links.add(key);
    }
    totals.files++;
    totals.bytes += info.size;
  };
  const stack: string[] = [];
  for (const root of roots) {
    try {
      const info = Deno.lstatSync(root);
      if (info.isDirectory) stack.push(root);
      else if (info.isFile) addFile(info);
    } catch {
      // the backup reports it
    }
  }
  stack.reverse();
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries;
    try {
      entries = listDir(dir).entries;
    } catch {
      continue;
    }
    totals.dirs++;
    if (hasMarker(dir, entries.map((e) => e.name), opts!.markers)) continue;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i];
      if (excluder.excludes(e.path)) continue;
      if (e.info.isDirectory) {
        if (!devs || devs.has(e.info.dev ?? 0)) stack.push(e.path);
      } else if (e.info.isFile) addFile(e.info);
    }
    if (Date.now() - posted >= 100) {
      post({ type: "totals", ...totals, done: false });
      posted = Date.now();
    }
  }
  post({ type: "totals", ...totals, done: true });
}

self.onmessage = (e: MessageEvent<ToLister>) => {
  const m = e.data;
  if (m.type === "count") return count(m.roots, m.largerThan);
  if (m.type === "init") {
    opts = m;
    excluder = new Excluder(m.excludes, m.iexcludes);
    devs = m.devs ? new Set(m.devs) : null;
    return;
  }
  if (m.type === "walk") roots.push(m.root);
  else outstanding -= m.entries;
  pump();
};
