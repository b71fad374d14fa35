import {
  type Command,
  listFlag,
  openRepository,
  printable,
  selectSnapshotArgs,
  SNAPSHOT_FILTER_OPTIONS,
  UsageError,
} from "../cli/mod.ts";
import { rewriteSnapshots } from "../repo/mod.ts";
import { Excluder } from "../walker/mod.ts";
import { listFileLines } from "./backup.ts";

/** `cairn rewrite`: remove paths from stored snapshots, as restic 0.15's. */
export const rewriteCommand: Command = {
  name: "rewrite",
  summary: "remove paths from existing snapshots (writing new trees)",
  usage: "cairn rewrite --exclude GLOB [--iexclude GLOB] [--exclude-file FILE] [SNAPSHOT...] " +
    "[--host H] [--path P] [--tag T] [--job J] [--forget] [--dry-run] [--json]",
  description: [
    "Writes a new snapshot, without what the excludes match, for each snapshot the",
    "SNAPSHOT arguments name (or, with none, every one the filters select) that holds",
    "such a path; a snapshot holding none is left alone. Patterns are backup's: no '/'",
    "matches a name at any depth, with '/' the whole path. The new snapshot records the",
    "id it replaces as 'original'. The originals stay unless --forget (which takes the",
    "exclusive lock); the excluded data leaves the repository only with a prune once no",
    "snapshot references it: 'cairn rewrite --exclude X --forget && cairn prune'.",
  ].join("\n"),
  usesRepository: true,
  options: {
    exclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "remove paths matching GLOB (repeatable)",
    },
    iexclude: {
      type: "string",
      multiple: true,
      arg: "GLOB",
      description: "as --exclude, ignoring case",
    },
    "exclude-file": {
      type: "string",
      multiple: true,
      arg: "FILE",
      description: "read --exclude patterns from FILE, one a line",
    },
    forget: { type: "boolean", description: "remove each original once its rewrite is stored" },
    "dry-run": { type: "boolean", short: "n", description: "only show what would be removed" },
    ...SNAPSHOT_FILTER_OPTIONS,
  },
  async run(ctx) {
    const excludes = [
      ...listFlag(ctx.flags, "exclude"),
      ...listFlag(ctx.flags, "exclude-file").flatMap((f) => listFileLines(f, "--exclude-file")),
    ];
    const iexcludes = listFlag(ctx.flags, "iexclude");
    if (excludes.length + iexcludes.length === 0) {
      throw new UsageError("nothing to remove: give --exclude, --iexclude or --exclude-file");
    }
    let exclude: Excluder;
    try {
      exclude = new Excluder(excludes, iexcludes);
    } catch (err) {
      throw new UsageError(`--exclude: ${(err as Error).message}`, { cause: err });
    }
    const dryRun = ctx.flags["dry-run"] === true;
    const repo = await openRepository(ctx);
    const snapshots = await selectSnapshotArgs(repo, ctx.positionals, ctx.flags);
    const done = await rewriteSnapshots(repo, snapshots, exclude, {
      forget: ctx.flags.forget === true,
      dryRun,
      signal: ctx.signal,
      onProgress: (m) => ctx.output.status(m),
    });
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify({
        dry_run: dryRun,
        rewritten: done.map((r) => ({
          old_id: r.old,
          new_id: r.id ?? null,
          removed: r.removed,
        })),
        unchanged: snapshots.length - done.length,
        forgotten: ctx.flags.forget === true && !dryRun ? done.length : 0,
      }));
      return 0;
    }
    for (const r of done) {
      const to = r.id ? ` -> ${r.id.slice(0, 8)}` : " (dry run)";
      ctx.output.out(`snapshot ${r.old.slice(0, 8)}${to}: removed ${r.removed.length} path(s)`);
      for (const p of r.removed) ctx.output.out(`  removed: ${printable(p)}`);
    }
    const verb = dryRun ? "would rewrite" : "rewrote";
    const forgot = ctx.flags.forget && !dryRun && done.length > 0
      ? "; the originals are removed (run 'cairn prune' to free their data)"
      : "";
    ctx.output.out(`${verb} ${done.length} of ${snapshots.length} snapshot(s)${forgot}`);
    return 0;
  },
};
