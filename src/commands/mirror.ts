import { resolve } from "node:path";
import {
  type Command,
  ExitCode,
  expectPositionals,
  findSnapshotArg,
  openRepository,
  printable,
  PROGRESS_OPTION,
  progressWanted,
  SNAPSHOT_FILTER_OPTIONS,
  startProgress,
  stringFlag,
} from "../cli/mod.ts";
import { mirrorLine, type MirrorProgress, mirrorSnapshot, mirrorSummary } from "../mirror/mod.ts";
import { countTree, type TreeTotals } from "../restore/mod.ts";

/** `cairn mirror`: bring a mirror directory up to date from a stored snapshot. */
export const mirrorCommand: Command = {
  name: "mirror",
  summary: "bring a mirror directory up to date from a snapshot",
  usage:
    "cairn mirror SNAPSHOT DIR [--purge] [--require-mount PATH] [--host H] [--path P] [--tag T] [--job J] [--json]",
  description: [
    "DIR becomes a plain copy of the snapshot's sources (one source directory's contents go",
    "straight into DIR), for a second copy or to rebuild a lost mirror. Files whose size and",
    "mtime already match are left alone; others are written to a temp file and renamed into",
    "place. With --purge, entries not in the snapshot are deleted, which is refused for a",
    "non-empty DIR that is not a cairn mirror. DIR may be a path template ({job}, {host},",
    "{date}, {time}, {snapshot}). A DIR another run is writing is refused (a lock), and so",
    "is one whose disk is not mounted with --require-mount. Exit code 3 means some entries",
    "could not be mirrored.",
  ].join("\n"),
  usesRepository: true,
  options: {
    progress: PROGRESS_OPTION,
    purge: { type: "boolean", description: "delete entries that are not in the snapshot" },
    "require-mount": {
      type: "string",
      arg: "PATH",
      description: "refuse unless PATH is a mount point and DIR is on it",
    },
    ...SNAPSHOT_FILTER_OPTIONS,
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 2);
    const [ref, dir] = ctx.positionals;
    const repo = await openRepository(ctx, { read: true });
    const snapshot = await findSnapshotArg(repo, ref, ctx.flags);
    const { output } = ctx;
    const requireMount = stringFlag(ctx.flags, "require-mount");
    // Totals: the snapshot's files (the trees above the mirror's base hold no files).
    let totals: TreeTotals | undefined;
    let latest: MirrorProgress | undefined;
    if (progressWanted(ctx)) {
      countTree(repo, snapshot.tree, { signal: ctx.signal }).then((t) => (totals = t), () => {});
    }
    const meter = startProgress(ctx, () =>
      latest && {
        unit: "files",
        items: latest.files,
        bytes: latest.bytes,
        total: totals && { items: totals.files, bytes: totals.bytes, final: true },
        current: latest.writing,
      });
    const result = await mirrorSnapshot(repo, snapshot, {
      path: dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`,
      purge: ctx.flags.purge === true,
      requireMount: requireMount === undefined ? undefined : resolve(requireMount),
      signal: ctx.signal,
      onError: (p, m) => output.err(`error: ${printable(p)}: ${printable(m)}`),
      onWarning: (m) => output.err(`warning: ${printable(m)}`),
      onProgress: (p) => (latest = p),
    }).finally(() => meter.stop());
    if (ctx.flags.json === true) {
      output.out(JSON.stringify({
        message_type: "summary",
        snapshot: snapshot.id,
        ...mirrorSummary(result),
      }));
    } else {
      output.out(`${printable(mirrorLine(result))} from snapshot ${snapshot.id.slice(0, 8)}`);
    }
    return result.errors.length > 0 ? ExitCode.partial : ExitCode.ok;
  },
};
