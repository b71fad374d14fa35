import {
  type Command,
  ExitCode,
  expectPositionals,
  findSnapshotArg,
  formatBytes,
  listFlag,
  openRepository,
  printable,
  PROGRESS_OPTION,
  progressWanted,
  snakeCaseKeys,
  SNAPSHOT_FILTER_OPTIONS,
  startProgress,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import { findPath, splitPath } from "../catalog/mod.ts";
import {
  countTree,
  DeviceRefusedError,
  type Overwrite,
  OVERWRITE_MODES,
  planRestore,
  restore,
  type RestoreProgress,
  restoreToDevice,
  type TreeTotals,
} from "../restore/mod.ts";

/** `cairn restore`: write a snapshot's files back to disk. */
export const restoreCommand: Command = {
  name: "restore",
  summary: "restore a snapshot into a directory",
  usage:
    "cairn restore SNAPSHOT --target DIR [--include GLOB]... [--exclude GLOB]... [--iexclude GLOB]... [--overwrite MODE] [--delete] [--verify] [--dry-run] [--special] [--no-xattrs] [--exclude-xattr GLOB]... [--include-xattr GLOB]... [--host H] [--path P] [--tag T] [--job J] [--json]\n       cairn restore SNAPSHOT --path /dev/SRC --to-device /dev/DEST",
  description: [
    "Paths keep their place below DIR: /home/ann is restored to DIR/home/ann.",
    "Nothing is written outside DIR or through a symbolic link. A glob without '/'",
    "matches names at any depth; with '/' the whole path. setuid/setgid bits, FIFOs",
    "and (as root) device nodes are restored only with --special.",
    "Restoring over an existing tree, --overwrite decides per file (as restic 0.17):",
    "always (default) rewrites it, if-changed keeps one of the same size and mtime,",
    "if-newer keeps one at least as new as the snapshot's, never keeps whatever is there.",
    "--delete removes what the target has and the snapshot does not (not with globs).",
    "Exit code 1 means some entries could not be restored; they are listed on stderr.",
    "Exit code 3: all data is restored, but the target refused some extended attributes",
    "or file flags (each is a warning naming the file and the attribute).",
    "With --to-device, the disk image stored as --path (backup --read-special) is written",
    "onto DEST, only if DEST is a block device at least as large, neither it nor one of",
    "its partitions is mounted, and nothing holds it; otherwise one line says why.",
  ].join("\n"),
  usesRepository: true,
  options: {
    progress: PROGRESS_OPTION,
    target: { type: "string", short: "t", arg: "DIR", description: "directory to restore into" },
    include: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "restore only matching paths (repeatable)",
    },
    overwrite: {
      type: "string",
      arg: "MODE",
      description: "always | if-changed | if-newer | never: what to do with existing files",
    },
    exclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "leave out matching paths and what is below them (repeatable)",
    },
    iexclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "like --exclude, ignoring case (repeatable)",
    },
    "dry-run": {
      type: "boolean",
      description: "write nothing; say what would be written, kept and removed",
    },
    verify: {
      type: "boolean",
      description: "reread each file written and check it against the snapshot's blob ids",
    },
    delete: {
      type: "boolean",
      description: "remove files in DIR that the snapshot does not have",
    },
    special: {
      type: "boolean",
      description: "also restore setuid/setgid bits, FIFOs and device nodes",
    },
    "no-xattrs": {
      type: "boolean",
      description: "do not restore extended attributes (ACLs, capabilities)",
    },
    "exclude-xattr": {
      type: "string",
      arg: "GLOB",
      multiple: true,
      description: "do not restore extended attributes whose name matches (e.g. 'security.*')",
    },
    "include-xattr": {
      type: "string",
      arg: "GLOB",
      multiple: true,
      description: "restore only extended attributes whose name matches (e.g. 'user.*')",
    },
    "to-device": {
      type: "string",
      arg: "DEV",
      description: "write the image named by --path onto this block device",
    },
    ...SNAPSHOT_FILTER_OPTIONS,
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 1);
    if (stringFlag(ctx.flags, "to-device") !== undefined) return await toDevice(ctx);
    const target = stringFlag(ctx.flags, "target");
    if (!target) throw new UsageError("cairn restore: --target DIR is required");
    const overwrite = stringFlag(ctx.flags, "overwrite") ?? "always";
    if (!(OVERWRITE_MODES as readonly string[]).includes(overwrite)) {
      throw new UsageError(
        `cairn restore: --overwrite must be one of ${OVERWRITE_MODES.join(", ")}, not ${
          JSON.stringify(overwrite)
        }`,
      );
    }
    if (
      listFlag(ctx.flags, "exclude-xattr").length && listFlag(ctx.flags, "include-xattr").length
    ) {
      throw new UsageError("cairn restore: --exclude-xattr and --include-xattr do not combine");
    }
    const filtered = ["include", "exclude", "iexclude"].some((f) => listFlag(ctx.flags, f).length);
    if (ctx.flags.delete === true && filtered) {
      throw new UsageError(
        "cairn restore: --delete cannot be combined with --include or --exclude",
      );
    }
    if (ctx.flags["dry-run"] === true && filtered) {
      throw new UsageError(
        "cairn restore: --dry-run cannot be combined with --include or --exclude",
      );
    }
    const repo = await openRepository(ctx, { read: true });
    const snapshot = await findSnapshotArg(repo, ctx.positionals[0], ctx.flags);
    const { output } = ctx;
    const json = ctx.flags.json === true;
    if (ctx.flags["dry-run"] === true) {
      const plan = await planRestore(repo, snapshot, {
        target,
        overwrite: overwrite as Overwrite,
        delete: ctx.flags.delete === true,
      });
      if (json) {
        output.out(
          JSON.stringify(
            snakeCaseKeys({ message_type: "dry_run", snapshot: snapshot.id, ...plan }),
          ),
        );
      } else {
        for (const p of plan.makeDirs) output.out(`would create ${printable(p)}/`);
        for (const p of plan.write) output.out(`would write ${printable(p)}`);
        for (const p of plan.remove) output.out(`would remove ${printable(p)}`);
        output.out(
          `dry run: would write ${plan.write.length}, keep ${plan.keep.length}, create ${plan.makeDirs.length} dirs, remove ${plan.remove.length}; nothing was changed`,
        );
      }
      return ExitCode.ok;
    }
    let latest: RestoreProgress | undefined;
    // Totals of the whole snapshot, counted beside the restore; with globs, no totals.
    let totals: TreeTotals | undefined;
    const wanted = progressWanted(ctx);
    if (wanted && !filtered) {
      countTree(repo, snapshot.tree, { signal: ctx.signal }).then((t) => (totals = t), () => {});
    }
    const meter = startProgress(ctx, () =>
      latest && {
        unit: "files/dirs",
        items: latest.files + latest.dirs,
        bytes: latest.bytes,
        total: totals &&
          { items: totals.files + totals.others + totals.dirs, bytes: totals.bytes, final: true },
        current: [latest.path],
      });
    let result;
    try {
      result = await restore(repo, snapshot, {
        target,
        include: listFlag(ctx.flags, "include"),
        exclude: listFlag(ctx.flags, "exclude"),
        iexclude: listFlag(ctx.flags, "iexclude"),
        special: ctx.flags.special === true,
        overwrite: overwrite as Overwrite,
        delete: ctx.flags.delete === true,
        verify: ctx.flags.verify === true,
        xattrs: ctx.flags["no-xattrs"] !== true,
        excludeXattrs: listFlag(ctx.flags, "exclude-xattr"),
        includeXattrs: listFlag(ctx.flags, "include-xattr"),
        signal: ctx.signal,
        onWarning: (p, m) => output.err(`warning: ${printable(p)}: ${printable(m)}`),
        onError: (p, m) => output.err(`error: ${printable(p)}: ${printable(m)}`),
        onProgress: (p) => (latest = p),
      });
    } finally {
      meter.stop();
    }
    if (json) {
      output.out(JSON.stringify({
        message_type: "summary",
        snapshot: snapshot.id,
        target,
        files: result.files,
        skipped: result.skipped,
        deleted: result.deleted,
        dirs: result.dirs,
        bytes: result.bytes,
        warnings: result.warnings,
        errors: result.errors,
      }));
    } else {
      const kept = (result.skipped ? `, kept ${result.skipped} existing` : "") +
        (result.deleted ? `, deleted ${result.deleted}` : "");
      const problems = [
        result.warnings.length ? `${result.warnings.length} warning(s)` : "",
        result.errors.length ? `${result.errors.length} error(s)` : "",
      ].filter(Boolean).join(", ");
      output.out(
        `restored ${result.files} files, ${result.dirs} dirs, ${
          formatBytes(result.bytes)
        }${kept} from snapshot ${snapshot.id.slice(0, 8)} into ${printable(target)}${
          problems ? ` (${problems})` : ""
        }`,
      );
    }
    if (result.errors.length > 0) return ExitCode.fatal;
    return result.refused > 0 ? ExitCode.partial : ExitCode.ok;
  },
};

/** `--to-device`: one image onto one block device, after the device's checks. */
async function toDevice(ctx: import("../cli/mod.ts").CommandContext): Promise<number> {
  const device = stringFlag(ctx.flags, "to-device")!;
  const paths = listFlag(ctx.flags, "path");
  if (paths.length !== 1) {
    throw new UsageError("--to-device needs exactly one --path, the image in the snapshot");
  }
  for (const f of ["target", "include", "special"]) {
    if (ctx.flags[f] !== undefined) throw new UsageError(`--${f} does not apply to --to-device`);
  }
  const repo = await openRepository(ctx, { read: true });
  const snapshot = await findSnapshotArg(repo, ctx.positionals[0], ctx.flags);
  const abs = "/" + splitPath(paths[0]).join("/");
  const node = await findPath(repo, snapshot, abs);
  if (!node) throw new Error(`No ${printable(abs)} in snapshot ${snapshot.id.slice(0, 8)}`);
  const { output } = ctx;
  let written: { done: number; total: number } | undefined;
  const meter = startProgress(ctx, () =>
    written && {
      unit: "images",
      items: written.done >= written.total ? 1 : 0,
      bytes: written.done,
      total: { items: 1, bytes: written.total, final: true },
    });
  try {
    const n = await restoreToDevice(repo, node, device, {
      signal: ctx.signal,
      onProgress: (done, total) => (written = { done, total }),
    }).finally(() => meter.stop());
    output.out(
      `wrote ${formatBytes(n)} of ${printable(abs)} from snapshot ${snapshot.id.slice(0, 8)} onto ${
        printable(device)
      }`,
    );
  } catch (err) {
    if (err instanceof DeviceRefusedError) throw new UsageError(err.message);
    throw err;
  }
  return ExitCode.ok;
}
