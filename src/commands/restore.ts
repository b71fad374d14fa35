import {
  type Command,
  ExitCode,
  expectPositionals,
  findSnapshotArg,
  formatBytes,
  listFlag,
  openRepository,
  printable,
  SNAPSHOT_FILTER_OPTIONS,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import { restore, type RestoreProgress } from "../restore/mod.ts";

/** `cairn restore`: write a snapshot's files back to disk. */
export const restoreCommand: Command = {
  name: "restore",
  summary: "restore a snapshot into a directory",
  usage:
    "cairn restore SNAPSHOT --target DIR [--include GLOB]... [--exclude GLOB]... [--iexclude GLOB]... [--special] [--no-xattrs] [--host H] [--path P] [--tag T] [--job J] [--json]",
  description: [
    "Paths keep their place below DIR: /home/ann is restored to DIR/home/ann.",
    "Nothing is written outside DIR or through a symbolic link. A glob without '/'",
    "matches names at any depth; with '/' the whole path. setuid/setgid bits, FIFOs",
    "and (as root) device nodes are restored only with --special.",
    "Exit code 1 means some entries could not be restored; they are listed on stderr.",
  ].join("\n"),
  usesRepository: true,
  options: {
    target: { type: "string", short: "t", arg: "DIR", description: "directory to restore into" },
    include: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "restore only matching paths (repeatable)",
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
    special: {
      type: "boolean",
      description: "also restore setuid/setgid bits, FIFOs and device nodes",
    },
    "no-xattrs": {
      type: "boolean",
      description: "do not restore extended attributes (ACLs, capabilities)",
    },
    ...SNAPSHOT_FILTER_OPTIONS,
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 1);
    const target = stringFlag(ctx.flags, "target");
    if (!target) throw new UsageError("cairn restore: --target DIR is required");
    const repo = await openRepository(ctx, { read: true });
    const snapshot = await findSnapshotArg(repo, ctx.positionals[0], ctx.flags);
    const { output } = ctx;
    const json = ctx.flags.json === true;
    let latest: RestoreProgress | undefined;
    const timer = output.interactive
      ? setInterval(() => {
        if (latest) {
          output.status(
            `${latest.files} files, ${latest.dirs} dirs, ${formatBytes(latest.bytes)} ${
              printable(latest.path)
            }`,
          );
        }
      }, 250)
      : undefined;
    let result;
    try {
      result = await restore(repo, snapshot, {
        target,
        include: listFlag(ctx.flags, "include"),
        exclude: listFlag(ctx.flags, "exclude"),
        iexclude: listFlag(ctx.flags, "iexclude"),
        special: ctx.flags.special === true,
        xattrs: ctx.flags["no-xattrs"] !== true,
        signal: ctx.signal,
        onWarning: (p, m) => output.err(`warning: ${printable(p)}: ${printable(m)}`),
        onError: (p, m) => output.err(`error: ${printable(p)}: ${printable(m)}`),
        onProgress: (p) => (latest = p),
      });
    } finally {
      if (timer !== undefined) clearInterval(timer);
    }
    if (json) {
      output.out(JSON.stringify({
        message_type: "summary",
        snapshot: snapshot.id,
        target,
        files: result.files,
        dirs: result.dirs,
        bytes: result.bytes,
        warnings: result.warnings,
        errors: result.errors,
      }));
    } else {
      const problems = [
        result.warnings.length ? `${result.warnings.length} warning(s)` : "",
        result.errors.length ? `${result.errors.length} error(s)` : "",
      ].filter(Boolean).join(", ");
      output.out(
        `restored ${result.files} files, ${result.dirs} dirs, ${
          formatBytes(result.bytes)
        } from snapshot ${snapshot.id.slice(0, 8)} into ${printable(target)}${
          problems ? ` (${problems})` : ""
        }`,
      );
    }
    return result.errors.length > 0 ? ExitCode.fatal : ExitCode.ok;
  },
};
