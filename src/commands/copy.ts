import {
  type Command,
  formatBytes,
  FROM_REPOSITORY_OPTIONS,
  openFromRepository,
  openRepository,
  printable,
  PROGRESS_OPTION,
  SNAPSHOT_FILTER_OPTIONS,
  snapshotFilter,
  startProgress,
  UsageError,
} from "../cli/mod.ts";
import { filterSnapshots, selectSnapshot } from "../catalog/mod.ts";
import {
  type CopyProgress,
  copySnapshots,
  type CopySummary,
  sameBlobIds,
  sameChunking,
  type SnapshotWithId,
} from "../repo/mod.ts";

/** `cairn copy`: copy snapshots from another repository into this one. */
export const copyCommand: Command = {
  name: "copy",
  summary: "copy snapshots from another repository into this one (3-2-1)",
  usage: "cairn copy --from-repo SRC [SNAPSHOT...] [--host H] [--tag T] [--job J]",
  description: [
    "Copies the snapshots named (default: every snapshot the filters select) from the",
    "repository --from-repo names into the one --repo names, storing only the blobs it",
    "lacks, encrypted with its keys. A snapshot copied before (by id, kept as the copy's",
    "'original') is skipped, so a rerun copies nothing; packs an interrupted copy wrote",
    "are reused. Unless this repository was made by 'cairn init --copy-chunker-params",
    "--from-repo SRC', the two have different blob ids: every file is read and cut",
    "again ('re-chunking'), so the copy still deduplicates with what is here.",
    "The source's password: --from-password-file, --from-password-command,",
    "CAIRN_FROM_PASSWORD_FILE, CAIRN_FROM_PASSWORD_COMMAND or CAIRN_FROM_PASSWORD.",
  ].join("\n"),
  usesRepository: true,
  options: { progress: PROGRESS_OPTION, ...FROM_REPOSITORY_OPTIONS, ...SNAPSHOT_FILTER_OPTIONS },
  async run(ctx) {
    const src = await openFromRepository(ctx);
    const dst = await openRepository(ctx);
    if (src.config.id === dst.config.id) {
      throw new UsageError(
        `cairn copy: the source and the destination are the same repository (${src.config.id})`,
      );
    }
    const json = ctx.flags.json === true;
    const all = await src.listSnapshots();
    const filter = snapshotFilter(ctx.flags);
    let chosen: SnapshotWithId[];
    if (ctx.positionals.length === 0) chosen = filterSnapshots(all, filter);
    else {
      const byId = new Map<string, SnapshotWithId>();
      for (const ref of ctx.positionals) {
        const s = selectSnapshot(all, ref, filter);
        byId.set(s.id, s);
      }
      chosen = all.filter((s) => byId.has(s.id)); // oldest first, as listed
    }
    if (!sameBlobIds(src, dst)) {
      ctx.output.err(
        "re-chunking: the two repositories have different chunker secrets and blob ids, so " +
          "every file is read and cut again (make the destination with 'cairn init " +
          "--copy-chunker-params --from-repo SRC' to copy blobs as they are)",
      );
    } else if (!sameChunking(src, dst)) {
      ctx.output.err("note: the repositories share blob ids but not chunk sizes");
    }
    // Snapshots done of those chosen, the bytes read from the source, and copy's own share done.
    let now: CopyProgress | undefined;
    const meter = startProgress(ctx, () =>
      now && {
        unit: "snapshots",
        items: now.snapshotsDone,
        bytes: now.bytesRead,
        total: { items: now.snapshotsTotal, bytes: 0, final: true },
        ratio: now.percent / 100,
      });
    let summary: CopySummary;
    try {
      summary = await copySnapshots(src, dst, chosen, {
        signal: ctx.signal,
        onWarning: (m) => ctx.output.err(`warning: ${printable(m)}`),
        onProgress: (p) => now = p,
        onSnapshot: (s) => {
          if (json) return;
          const short = s.source.slice(0, 8);
          ctx.output.out(
            s.skipped
              ? `snapshot ${short}: already copied, skipped`
              : `snapshot ${short} -> ${s.id!.slice(0, 8)}: ${s.blobs} blob(s), ${
                formatBytes(s.bytes)
              }`,
          );
        },
      });
    } finally {
      meter.stop();
    }
    if (json) ctx.output.out(JSON.stringify(summary));
    else {
      ctx.output.out(
        `copied ${summary.snapshots_copied} snapshot(s), skipped ${summary.snapshots_skipped}; ` +
          `stored ${summary.blobs_copied} blob(s), ${formatBytes(summary.bytes_copied)}` +
          (summary.packs_reused > 0
            ? `; reused ${summary.packs_reused} pack(s) an interrupted run left`
            : "") +
          (summary.rechunked ? " (re-chunked)" : ""),
      );
    }
    return 0;
  },
};
