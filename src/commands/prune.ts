import {
  type Command,
  expectPositionals,
  formatBytes,
  openRepository,
  type Output,
  snakeCaseKeys,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import { parseDuration } from "../job/mod.ts";
import {
  DEFAULT_MAX_UNUSED_FRACTION,
  DEFAULT_PRUNE_GRACE_MS,
  pruneRepository,
  type PruneStats,
  removeStaleLocks,
} from "../repo/mod.ts";

/** `cairn prune`: free the space of blobs no snapshot references. */
export const pruneCommand: Command = {
  name: "prune",
  summary: "free the space of data no snapshot references",
  usage: "cairn prune [--dry-run] [--grace DURATION] [--max-unused PERCENT] [--json]",
  description: [
    "Unused data leaves the index first and is deleted by a later prune once the grace",
    "period is over, so backups running meanwhile on other hosts stay complete. Packs",
    "with more unused bytes than --max-unused are rewritten. Safe to interrupt and rerun.",
    "Use --grace 0 only when no backup can be running.",
  ].join("\n"),
  usesRepository: true,
  options: {
    "dry-run": { type: "boolean", description: "only show what would be done" },
    grace: {
      type: "string",
      arg: "DURATION",
      description: `how long a backup may run, e.g. 90s, 15m, 1h30m, 0 (default: ${
        DEFAULT_PRUNE_GRACE_MS / 3600_000
      }h)`,
    },
    "max-unused": {
      type: "string",
      arg: "PERCENT",
      description: `repack packs with more unused bytes than this (default: ${
        DEFAULT_MAX_UNUSED_FRACTION * 100
      })`,
    },
    "unlock-stale": {
      type: "boolean",
      description: "first remove stale locks (as 'cairn unlock' does)",
    },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const grace = stringFlag(ctx.flags, "grace");
    const maxUnused = stringFlag(ctx.flags, "max-unused");
    const graceMs = grace === undefined ? undefined : parseGrace(grace);
    const maxUnusedFraction = maxUnused === undefined ? undefined : parsePercent(maxUnused);
    const repo = await openRepository(ctx);
    if (ctx.flags["unlock-stale"]) {
      const removed = await removeStaleLocks(repo, { signal: ctx.signal });
      if (!ctx.flags.json) ctx.output.err(`removed ${removed.length} stale lock(s)`);
    }
    const stats = await pruneRepository(repo, {
      dryRun: ctx.flags["dry-run"] === true,
      graceMs,
      maxUnusedFraction,
      signal: ctx.signal,
      onProgress: (m) => m.startsWith("warning:") ? ctx.output.err(m) : ctx.output.status(m),
    });
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify(snakeCaseKeys({ message_type: "summary", ...stats })));
    } else report(ctx.output, stats, graceMs ?? DEFAULT_PRUNE_GRACE_MS);
    return 0;
  },
};

/** A --grace value in ms, read by the same parser as job files' durations; UsageError otherwise. */
export function parseGrace(s: string): number {
  try {
    return parseDuration(s);
  } catch (err) {
    throw new UsageError(
      `--grace takes a duration like 90s, 15m, 1h30m or 0, not "${s}"`,
      { cause: err },
    );
  }
}

/** "20" or "20%" as 0.2; UsageError outside 0..100. */
export function parsePercent(s: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(s.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!(n >= 0 && n <= 100)) {
    throw new UsageError(`--max-unused takes a percentage from 0 to 100, not "${s}"`);
  }
  return n / 100;
}

function report(out: Output, s: PruneStats, graceMs: number): void {
  const would = (did: string, will: string) => (s.dryRun ? will : did);
  out.out(
    `${s.snapshots} snapshot(s), ${s.packs} pack(s); blobs: ${s.blobsUsed} used, ` +
      `${s.blobsUnused} unused, ${s.duplicateBlobs} duplicate`,
  );
  if (s.backupsRunning > 0) {
    out.out(`${s.backupsRunning} backup(s) running: nothing leaves the index this time`);
  }
  if (s.packsReindexed > 0) {
    out.out(`${would("put", "would put")} ${s.packsReindexed} pack(s) back into the index`);
  }
  if (s.packsRepacked > 0) {
    out.out(
      `${would("repacked", "would repack")} ${s.packsRepacked} pack(s): ${s.blobsRepacked} ` +
        `blob(s), ${formatBytes(s.bytesRepacked)}`,
    );
  }
  out.out(
    `${would("removed", "would remove")} ${s.blobsRemoved} blob(s) and ${s.packsDropped} ` +
      `pack(s) from the index`,
  );
  out.out(
    `${would("deleted", "would delete")} ${s.packsDeleted} pack(s) ` +
      `(${s.unindexedPacksDeleted} unindexed), freeing ${formatBytes(s.bytesFreed)}`,
  );
  if (s.filesLocked > 0) {
    out.out(
      `left ${s.filesLocked} file(s) (${s.packsLocked} pack(s)) under Object Lock for a prune ` +
        `after their retention ends`,
    );
  }
  if (s.retentionRenewed > 0) out.out(`renewed the Object Lock of ${s.retentionRenewed} file(s)`);
  if (s.temporaryFilesDeleted > 0) {
    out.out(`deleted ${s.temporaryFilesDeleted} temporary file(s) left by interrupted writes`);
  }
  if (s.packsPending > 0) {
    out.out(
      `${s.packsPending} pack(s) (${formatBytes(s.bytesPending)}) out of the index: a prune ` +
        `run ${graceMs / 60_000} minute(s) after they left it deletes them`,
    );
  }
}
