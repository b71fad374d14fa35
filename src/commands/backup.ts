import { resolve } from "node:path";
import { backup, type BackupResult, findParent } from "../archiver/mod.ts";
import {
  type Command,
  ExitCode,
  expectPositionals,
  formatBytes,
  intFlag,
  listFlag,
  openRepository,
  printable,
  stringFlag,
  UsageError,
  VERSION,
} from "../cli/mod.ts";
import type { SnapshotWithId } from "../repo/mod.ts";

/** `cairn backup`: one snapshot of the given paths. */
export const backupCommand: Command = {
  name: "backup",
  summary: "back up files and directories into a new snapshot",
  usage: "cairn backup PATH... [--tag T] [--host H] [--exclude GLOB] [--time ISO8601] [--json]",
  description: [
    "Files whose size, mtime, ctime and inode match the parent snapshot (the latest one",
    "of the same host and paths) are not read again. Exit code 3 means the snapshot was",
    "written but some files could not be read; they are listed on stderr.",
  ].join("\n"),
  usesRepository: true,
  options: {
    tag: { type: "string", multiple: true, arg: "TAG", description: "add a tag (repeatable)" },
    host: { type: "string", arg: "HOST", description: "host name to record (default: this host)" },
    exclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "leave out matching paths; no '/' matches names at any depth (repeatable)",
    },
    "exclude-if-present": {
      type: "string",
      multiple: true,
      arg: "NAME",
      description: "leave out directories that contain a file NAME (repeatable)",
    },
    "one-file-system": { type: "boolean", description: "do not cross filesystem boundaries" },
    time: {
      type: "string",
      arg: "ISO8601",
      description: "record this snapshot time instead of now",
    },
    parent: { type: "string", arg: "SNAPSHOT", description: "compare with this snapshot" },
    force: { type: "boolean", description: "read every file, ignoring the parent snapshot" },
    workers: { type: "string", arg: "N", description: "file reader threads (default: cores)" },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 1, Infinity);
    const timeFlag = stringFlag(ctx.flags, "time");
    const time = timeFlag === undefined ? undefined : new Date(timeFlag);
    if (time && Number.isNaN(time.getTime())) {
      throw new UsageError(`--time "${timeFlag}" is not an ISO 8601 time`);
    }
    const paths = ctx.positionals.map((p) => resolve(p));
    for (const p of paths) {
      try {
        Deno.lstatSync(p);
      } catch (err) {
        throw new UsageError(`Cannot back up ${printable(p)}: ${(err as Error).message}`);
      }
    }
    const repo = await openRepository(ctx);
    const host = stringFlag(ctx.flags, "host") ?? Deno.hostname();
    const parent = ctx.flags.force
      ? undefined
      : await findParent(repo, host, paths, { ref: stringFlag(ctx.flags, "parent") });
    const { output } = ctx;
    const result = await runWithProgress(ctx.output, (onProgressSource) =>
      backup(repo, {
        paths,
        host,
        time,
        parent,
        tags: listFlag(ctx.flags, "tag"),
        excludes: listFlag(ctx.flags, "exclude"),
        excludeIfPresent: listFlag(ctx.flags, "exclude-if-present"),
        oneFileSystem: ctx.flags["one-file-system"] === true,
        workers: intFlag(ctx.flags, "workers"),
        signal: ctx.signal,
        programVersion: `cairn ${VERSION}`,
        onError: (e) => output.err(`warning: ${printable(e.path)}: ${printable(e.message)}`),
        onStart: onProgressSource,
      }));
    report(ctx.output, result, ctx.flags.json === true, parent);
    return result.errors.length > 0 ? ExitCode.partial : ExitCode.ok;
  },
};

type ProgressSource = () => { files: number; dirs: number; bytesRead: number; errors: number };

/** Runs `work`, drawing a status line on a terminal from the counters it exposes. */
async function runWithProgress<T>(
  output: import("../cli/mod.ts").Output,
  work: (onStart: (p: ProgressSource) => void) => Promise<T>,
): Promise<T> {
  let source: ProgressSource | undefined;
  const started = performance.now();
  const timer = output.interactive
    ? setInterval(() => {
      if (!source) return;
      const p = source();
      const secs = (performance.now() - started) / 1000;
      output.status(
        `${p.files} files, ${p.dirs} dirs, ${formatBytes(p.bytesRead)} read (${
          formatBytes(p.bytesRead / Math.max(secs, 0.001))
        }/s), ${p.errors} errors, ${secs.toFixed(0)}s`,
      );
    }, 250)
    : undefined;
  try {
    return await work((p) => (source = p));
  } finally {
    if (timer !== undefined) clearInterval(timer);
  }
}

function report(
  output: import("../cli/mod.ts").Output,
  r: BackupResult,
  json: boolean,
  parent: SnapshotWithId | undefined,
): void {
  const s = r.summary;
  if (json) {
    output.out(JSON.stringify({
      message_type: "summary",
      snapshot: r.id,
      parent: parent?.id ?? null,
      ...s,
      complete: r.errors.length === 0,
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
  if (r.errors.length > 0) {
    output.out(`${r.errors.length} file(s) could not be read; the snapshot is marked incomplete`);
  }
  output.out(`snapshot ${r.id.slice(0, 8)} saved in ${s.duration_s.toFixed(2)}s`);
}
