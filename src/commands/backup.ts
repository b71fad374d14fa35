import { resolve } from "node:path";
import {
  backup,
  type BackupOptions,
  type BackupProgress,
  type BackupResult,
  commandSource,
  dirCacheFile,
  findParent,
  stdinSource,
  type StreamSource,
} from "../archiver/mod.ts";
import {
  type Command,
  ExitCode,
  expectPositionals,
  formatBytes,
  intFlag,
  listFlag,
  openRepository,
  printable,
  PROGRESS_OPTION,
  progressWanted,
  startProgress,
  stringFlag,
  UsageError,
  VERSION,
} from "../cli/mod.ts";
import {
  backupWithMirror,
  type MirroredBackupResult,
  mirrorLine,
  mirrorSummary,
} from "../mirror/mod.ts";
import type { SnapshotWithId } from "../repo/mod.ts";
import { cacheDirFor, DryRunBackend } from "../backend/mod.ts";
import { parseByteSize, prestartLister, readListFile } from "../walker/mod.ts";

/** `cairn backup`: one snapshot of the given paths. */
export const backupCommand: Command = {
  name: "backup",
  summary: "back up files and directories into a new snapshot",
  usage:
    "cairn backup PATH... [--files-from FILE] [--tag T] [--host H] [--exclude GLOB] [--iexclude GLOB] [--exclude-file FILE] [--exclude-caches] [--exclude-larger-than SIZE] [--dry-run] [--time ISO8601] [--mirror DIR [--no-purge] [--mirror-require-mount PATH]] [--json]\n       cairn backup --stdin [--stdin-filename NAME] | --stdin-from-command [--stdin-filename NAME] -- CMD ARG...",
  description: [
    "Files whose size, mtime, ctime and inode match the parent snapshot (the latest one",
    "of the same host and paths) are not read again. Exit code 3 means the snapshot was",
    "written but some files could not be read (or mirrored); they are listed on stderr.",
    "With --mirror, DIR is brought up to date in the same pass, from the same reads: a",
    "plain copy of the sources (one source directory's contents go straight into DIR).",
    "Entries no longer in the source are deleted from DIR unless --no-purge; a non-empty",
    "DIR that is not a cairn mirror is refused, as is one another run is writing (a lock)",
    "or, with --mirror-require-mount, one whose disk is not mounted. See docs/MIRROR.md.",
    "With --stdin (or --stdin-from-command -- CMD ARG...) the snapshot holds one file,",
    "/NAME (default /stdin), with the bytes read from stdin (or CMD's stdout). A command",
    "that does not exit 0 leaves no snapshot; its exit code and stderr tail are reported.",
    "With --read-special, a block device is read as a file of the device's size (a disk",
    "image; zeros are stored once and restored as holes). See docs/IMAGES.md.",
  ].join("\n"),
  usesRepository: true,
  options: {
    progress: PROGRESS_OPTION,
    tag: { type: "string", multiple: true, arg: "TAG", description: "add a tag (repeatable)" },
    host: { type: "string", arg: "HOST", description: "host name to record (default: this host)" },
    exclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "leave out matching paths; no '/' matches names at any depth (repeatable)",
    },
    "exclude-file": {
      type: "string",
      multiple: true,
      arg: "FILE",
      description: "read --exclude patterns from FILE, one a line (repeatable)",
    },
    iexclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "like --exclude, ignoring case (repeatable)",
    },
    "iexclude-file": {
      type: "string",
      multiple: true,
      arg: "FILE",
      description: "read --iexclude patterns from FILE, one a line (repeatable)",
    },
    "exclude-if-present": {
      type: "string",
      multiple: true,
      arg: "NAME[:HEADER]",
      description: "leave out directories that contain a file NAME (starting with HEADER)",
    },
    "exclude-caches": {
      type: "boolean",
      description: "leave out directories tagged with a valid CACHEDIR.TAG",
    },
    "exclude-larger-than": {
      type: "string",
      arg: "SIZE",
      description: "leave out files larger than SIZE (e.g. 500K, 2M, 1G)",
    },
    "files-from": {
      type: "string",
      multiple: true,
      arg: "FILE",
      description: "back up the paths listed in FILE, one a line, too (repeatable)",
    },
    "dry-run": {
      type: "boolean",
      short: "n",
      description: "read everything and say what would be stored; store nothing",
    },
    "one-file-system": { type: "boolean", description: "do not cross filesystem boundaries" },
    time: {
      type: "string",
      arg: "ISO8601",
      description: "record this snapshot time instead of now",
    },
    parent: { type: "string", arg: "SNAPSHOT", description: "compare with this snapshot" },
    force: { type: "boolean", description: "read every file, ignoring the parent snapshot" },
    "no-xattrs": {
      type: "boolean",
      description: "do not record extended attributes (ACLs, capabilities)",
    },
    workers: {
      type: "string",
      arg: "N",
      description: "file reader threads (default: cores, twice that with --mirror)",
    },
    mirror: {
      type: "string",
      arg: "DIR",
      description: "also bring this mirror directory (or path template) up to date",
    },
    "no-purge": {
      type: "boolean",
      description: "keep files in the mirror that are no longer in the source",
    },
    "mirror-require-mount": {
      type: "string",
      arg: "PATH",
      description: "refuse the mirror unless PATH is a mount point and DIR is on it",
    },
    "read-special": {
      type: "boolean",
      description: "read block devices as files of their size (disk and partition images)",
    },
    stdin: { type: "boolean", description: "back up standard input as one file" },
    "stdin-filename": {
      type: "string",
      arg: "NAME",
      description: "the file name for --stdin or --stdin-from-command (default: stdin)",
    },
    "stdin-from-command": {
      type: "boolean",
      description: "back up the stdout of the command after --, if it exits 0",
    },
  },
  async run(ctx) {
    const streaming = ctx.flags.stdin === true || ctx.flags["stdin-from-command"] === true;
    if (streaming) return await backupStream(ctx);
    if (stringFlag(ctx.flags, "stdin-filename") !== undefined) {
      throw new UsageError("--stdin-filename needs --stdin or --stdin-from-command");
    }
    const listed = listFlag(ctx.flags, "files-from").flatMap((f) =>
      listFileLines(f, "--files-from")
    );
    if (ctx.positionals.length === 0 && listed.length === 0) {
      expectPositionals(this, ctx.positionals, 1, Infinity);
    }
    const time = timeOf(ctx.flags);
    const paths = [...ctx.positionals, ...listed].map((p) => resolve(p));
    const selection = selectionOf(ctx.flags);
    for (const p of paths) {
      try {
        Deno.lstatSync(p);
      } catch (err) {
        throw new UsageError(`Cannot back up ${printable(p)}: ${(err as Error).message}`);
      }
    }
    // The walk's lister thread loads while the repository opens.
    using _lister = prestartLister();
    const dryRun = ctx.flags["dry-run"] === true;
    if (dryRun && stringFlag(ctx.flags, "mirror") !== undefined) {
      throw new UsageError("--dry-run does not combine with --mirror");
    }
    let dry: DryRunBackend | undefined;
    const repo = await openRepository(ctx, {
      wrap: dryRun ? (b) => (dry = new DryRunBackend(b)) : undefined,
    });
    const host = stringFlag(ctx.flags, "host") ?? Deno.hostname();
    const parent = ctx.flags.force
      ? undefined
      : await findParent(repo, host, paths, { ref: stringFlag(ctx.flags, "parent") });
    const { output } = ctx;
    const mirrorPath = stringFlag(ctx.flags, "mirror");
    const requireMount = stringFlag(ctx.flags, "mirror-require-mount");
    if (mirrorPath === undefined && ctx.flags["no-purge"]) {
      throw new UsageError("--no-purge needs --mirror DIR");
    }
    if (mirrorPath === undefined && requireMount !== undefined) {
      throw new UsageError("--mirror-require-mount needs --mirror DIR");
    }
    const mirror = mirrorPath === undefined ? undefined : {
      path: resolve(mirrorPath),
      purge: ctx.flags["no-purge"] !== true,
      requireMount: requireMount === undefined ? undefined : resolve(requireMount),
      onError: (p: string, m: string) =>
        output.err(`warning: mirror: ${printable(p)}: ${printable(m)}`),
      onWarning: (m: string) => output.err(`warning: ${printable(m)}`),
    };
    const result = await runWithProgress(ctx, (onProgressSource) => {
      const opts: BackupOptions = {
        paths,
        host,
        time,
        parent,
        tags: listFlag(ctx.flags, "tag"),
        ...selection,
        oneFileSystem: ctx.flags["one-file-system"] === true,
        readSpecial: ctx.flags["read-special"] === true,
        xattrs: ctx.flags["no-xattrs"] !== true,
        workers: intFlag(ctx.flags, "workers"),
        signal: ctx.signal,
        programVersion: `cairn ${VERSION}`,
        onError: (e) => output.err(`warning: ${printable(e.path)}: ${printable(e.message)}`),
        onWarning: (m) => output.err(`warning: ${printable(m)}`),
        onStart: onProgressSource,
        countTotals: progressWanted(ctx),
        dirCache: dryRun
          ? undefined
          : dirCacheFile(repo.config.id, host, paths, (n) => cacheDirFor(n, Deno.env.toObject())),
      };
      return mirror ? backupWithMirror(repo, opts, mirror) : backup(repo, opts);
    });
    if (dry) {
      reportDryRun(ctx.output, result, dry, ctx.flags.json === true, parent);
      return result.errors.length > 0 ? ExitCode.partial : ExitCode.ok;
    }
    report(ctx.output, result, ctx.flags.json === true, parent);
    const mirrorErrors = "mirror" in result ? (result as MirroredBackupResult).mirror.errors : [];
    return result.errors.length + mirrorErrors.length > 0 ? ExitCode.partial : ExitCode.ok;
  },
};

/** The entries of a list file (`--files-from`, `--exclude-file`); see `readListFile`. */
export function listFileLines(file: string, flag: string): string[] {
  try {
    return readListFile(file);
  } catch (err) {
    throw new UsageError(`${flag} ${printable(file)}: ${(err as Error).message}`);
  }
}

/** What the exclusion flags select, for {@link BackupOptions}. */
function selectionOf(flags: import("../cli/mod.ts").Flags): Pick<
  BackupOptions,
  "excludes" | "iexcludes" | "excludeIfPresent" | "excludeCaches" | "excludeLargerThan"
> {
  const excludes = [
    ...listFlag(flags, "exclude"),
    ...listFlag(flags, "exclude-file").flatMap((f) => listFileLines(f, "--exclude-file")),
  ];
  const iexcludes = [
    ...listFlag(flags, "iexclude"),
    ...listFlag(flags, "iexclude-file").flatMap((f) => listFileLines(f, "--iexclude-file")),
  ];
  const larger = stringFlag(flags, "exclude-larger-than");
  return {
    excludes,
    iexcludes,
    excludeIfPresent: listFlag(flags, "exclude-if-present"),
    excludeCaches: flags["exclude-caches"] === true,
    excludeLargerThan: larger === undefined ? undefined : parseSize(larger),
  };
}

/** A size like `500`, `500K`, `2M`, `1.5G` (powers of 1024); UsageError otherwise. */
function parseSize(text: string): number {
  const n = parseByteSize(text);
  if (n === undefined) {
    throw new UsageError(`--exclude-larger-than "${printable(text)}" is not a size like 2M`);
  }
  return n;
}

function timeOf(flags: import("../cli/mod.ts").Flags): Date | undefined {
  const timeFlag = stringFlag(flags, "time");
  const time = timeFlag === undefined ? undefined : new Date(timeFlag);
  if (time && Number.isNaN(time.getTime())) {
    throw new UsageError(`--time "${timeFlag}" is not an ISO 8601 time`);
  }
  return time;
}

/** `--stdin` and `--stdin-from-command`: one file from a stream. */
async function backupStream(ctx: import("../cli/mod.ts").CommandContext): Promise<number> {
  const { flags, positionals, output } = ctx;
  const fromCommand = flags["stdin-from-command"] === true;
  if (fromCommand && flags.stdin === true) {
    throw new UsageError("--stdin and --stdin-from-command exclude each other");
  }
  if (fromCommand && positionals.length === 0) {
    throw new UsageError("--stdin-from-command needs a command after --, e.g. -- pg_dump db");
  }
  if (!fromCommand && positionals.length > 0) {
    throw new UsageError("--stdin takes no PATH; the snapshot holds only the stream");
  }
  const notForStreams = [
    "mirror",
    "no-purge",
    "mirror-require-mount",
    "exclude",
    "exclude-file",
    "iexclude",
    "iexclude-file",
    "exclude-if-present",
    "exclude-caches",
    "exclude-larger-than",
    "files-from",
    "dry-run",
    "one-file-system",
    "read-special",
    "parent",
    "force",
  ];
  for (const f of notForStreams) {
    if (flags[f] !== undefined) throw new UsageError(`--${f} does not apply to a stream backup`);
  }
  const name = stringFlag(flags, "stdin-filename") ?? "stdin";
  const time = timeOf(flags);
  const repo = await openRepository(ctx);
  let source: StreamSource;
  try {
    source = fromCommand ? commandSource(positionals, name, ctx.signal) : stdinSource(name);
  } catch (err) {
    if (err instanceof TypeError) throw new UsageError(err.message);
    throw err;
  }
  const result = await runWithProgress(ctx, (onProgressSource) =>
    backup(repo, {
      paths: [],
      stream: source,
      host: stringFlag(flags, "host") ?? Deno.hostname(),
      time,
      tags: listFlag(flags, "tag"),
      signal: ctx.signal,
      programVersion: `cairn ${VERSION}`,
      onWarning: (m) => output.err(`warning: ${printable(m)}`),
      onStart: onProgressSource,
    }));
  report(output, result, flags.json === true, undefined);
  return ExitCode.ok;
}

type ProgressSource = () => BackupProgress;

/** Runs `work`, showing its progress (see `cli/progress.ts`) from the counters it exposes. */
async function runWithProgress<T>(
  ctx: import("../cli/mod.ts").CommandContext,
  work: (onStart: (p: ProgressSource) => void) => Promise<T>,
): Promise<T> {
  let source: ProgressSource | undefined;
  const meter = startProgress(ctx, () => {
    if (!source) return undefined;
    const p = source();
    // Totals from the counting walk; a device's size is known at once (images).
    const counted = p.filesTotal > 0 || p.totalsDone;
    const expected = p.bytesExpected;
    return {
      unit: "files",
      items: p.files,
      bytes: p.bytesDone,
      errors: p.errors,
      total: counted || expected > 0
        ? {
          items: Math.max(p.filesTotal, p.files),
          bytes: p.bytesTotal + expected,
          final: p.totalsDone || !counted,
        }
        : undefined,
      current: p.inProgress.length > 0 ? p.inProgress.slice(0, 2) : undefined,
    };
  });
  try {
    return await work((p) => (source = p));
  } finally {
    meter.stop();
  }
}

/** What a dry run would have stored; nothing was. */
function reportDryRun(
  output: import("../cli/mod.ts").Output,
  r: BackupResult,
  dry: DryRunBackend,
  json: boolean,
  parent: SnapshotWithId | undefined,
): void {
  const s = r.summary;
  if (json) {
    output.out(JSON.stringify({
      message_type: "summary",
      dry_run: true,
      snapshot: null,
      parent: parent?.id ?? null,
      ...s,
      packs_would_add: dry.written.packs,
      complete: r.errors.length === 0,
    }));
    return;
  }
  output.out(
    `Files: ${s.files_new} new, ${s.files_changed} changed, ${s.files_unmodified} unmodified`,
  );
  output.out(`Dirs: ${s.dirs}`);
  output.out(
    `Dry run: read ${formatBytes(s.bytes_read)}, would add ${
      formatBytes(s.bytes_added)
    } in ${dry.written.packs} pack(s); nothing was stored`,
  );
  if (r.errors.length > 0) output.out(`${r.errors.length} file(s) could not be read`);
}

function report(
  output: import("../cli/mod.ts").Output,
  r: BackupResult,
  json: boolean,
  parent: SnapshotWithId | undefined,
): void {
  const s = r.summary;
  const mirror = "mirror" in r ? (r as MirroredBackupResult).mirror : undefined;
  if (json) {
    output.out(JSON.stringify({
      message_type: "summary",
      snapshot: r.id,
      parent: parent?.id ?? null,
      ...s,
      complete: r.errors.length === 0,
      packs_adopted: r.packsAdopted,
      ...(mirror ? { mirror: mirrorSummary(mirror) } : {}),
    }));
    return;
  }
  output.out(
    `Files: ${s.files_new} new, ${s.files_changed} changed, ${s.files_unmodified} unmodified`,
  );
  output.out(`Dirs: ${s.dirs}`);
  output.out(
    `Read ${formatBytes(s.bytes_read)}, added ${formatBytes(s.bytes_added)} to the repository`,
  );
  if (r.packsAdopted > 0) {
    output.out(`Reused ${r.packsAdopted} pack(s) an interrupted backup stored but did not index`);
  }
  if (r.errors.length > 0) {
    output.out(`${r.errors.length} file(s) could not be read; the snapshot is marked incomplete`);
  }
  if (mirror) output.out(mirrorLine(mirror));
  output.out(`snapshot ${r.id.slice(0, 8)} saved in ${s.duration_s.toFixed(2)}s`);
}
