import {
  type Command,
  formatBytes,
  openRepository,
  printable,
  selectSnapshotArgs,
  SNAPSHOT_FILTER_OPTIONS,
} from "../cli/mod.ts";
import { repositoryStats, type SizeStats } from "../repo/mod.ts";

/** `cairn stats`: repository size, restored and deduplicated, per host and job. */
export const statsCommand: Command = {
  name: "stats",
  summary: "how large the snapshots are, restored and deduplicated, per host and job",
  usage: "cairn stats [SNAPSHOT...] [--host H] [--path P] [--tag T] [--job J] [--json]",
  description: [
    "Measures the snapshots the SNAPSHOT arguments name, or with none every one the",
    "filters select, for each host and job and all together, both of restic's ways:",
    "'restore size' is what restoring each snapshot would write (restic's",
    "--mode restore-size; a file in two snapshots counts twice), 'deduplicated' the",
    "plaintext of the unique blobs they reference (--mode raw-data, each blob once) and",
    "'stored' those blobs' share of the pack files after compression and encryption.",
    "Groups share blobs, so their deduplicated sizes add up to more than the total.",
    "The last line is the storage itself: every pack, referenced or not (a prune frees",
    "what no snapshot references).",
  ].join("\n"),
  usesRepository: true,
  options: { ...SNAPSHOT_FILTER_OPTIONS },
  async run(ctx) {
    const repo = await openRepository(ctx, { read: true });
    const snapshots = await selectSnapshotArgs(repo, ctx.positionals, ctx.flags);
    const stats = await repositoryStats(repo, snapshots, { signal: ctx.signal });
    for (const g of [stats.total, ...stats.groups]) {
      if (g.missingBlobs > 0) {
        ctx.output.err(
          `warning: ${g.missingBlobs} referenced blob(s) are in no index; sizes leave them out ` +
            `(run "cairn check")`,
        );
        break;
      }
    }
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify({
        total: sizeJson(stats.total),
        groups: stats.groups.map((g) => ({
          host: g.host,
          job: g.job ?? null,
          ...sizeJson(g),
        })),
        repository: {
          packs: stats.repository.packs,
          pack_bytes: stats.repository.packBytes,
          indexed_blobs: stats.repository.indexedBlobs,
        },
      }));
      return 0;
    }
    const rows = [
      ["host", "job", "snapshots", "files", "restore size", "deduplicated", "stored"],
      ...stats.groups.map((g) => [printable(g.host), printable(g.job ?? "-"), ...sizeCells(g)]),
      ["total", "", ...sizeCells(stats.total)],
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) {
      ctx.output.out(
        r.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  "),
      );
    }
    const t = stats.total;
    if (t.dedupSize > 0) {
      ctx.output.out(
        `deduplication ${(t.restoreSize / t.dedupSize).toFixed(2)}x, compression ${
          (t.dedupSize / Math.max(1, t.storedSize)).toFixed(2)
        }x`,
      );
    }
    ctx.output.out(
      `repository: ${stats.repository.packs} pack(s), ${
        formatBytes(stats.repository.packBytes)
      }, ${stats.repository.indexedBlobs} blob(s)`,
    );
    return 0;
  },
};

function sizeJson(s: SizeStats) {
  return {
    snapshots: s.snapshots,
    files: s.files,
    restore_size: s.restoreSize,
    blobs: s.blobs,
    dedup_size: s.dedupSize,
    stored_size: s.storedSize,
    missing_blobs: s.missingBlobs,
  };
}

function sizeCells(s: SizeStats): string[] {
  return [
    String(s.snapshots),
    String(s.files),
    formatBytes(s.restoreSize),
    formatBytes(s.dedupSize),
    formatBytes(s.storedSize),
  ];
}
