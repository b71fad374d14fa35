import { type ChangeKind, diffSnapshots, diffSummary } from "../catalog/mod.ts";
import { selectSnapshot } from "../catalog/mod.ts";
import {
  type Command,
  expectPositionals,
  openRepository,
  printable,
  SNAPSHOT_FILTER_OPTIONS,
  snapshotFilter,
} from "../cli/mod.ts";

const MARK: Record<ChangeKind, string> = { added: "+", removed: "-", modified: "M", metadata: "U" };

/** `cairn diff`: what changed between two snapshots. */
export const diffCommand: Command = {
  name: "diff",
  summary: "show what changed between two snapshots",
  usage: "cairn diff SNAPSHOT1 SNAPSHOT2 [--host H] [--path P] [--tag T] [--job J] [--json]",
  description: [
    "One line per change: '+' added, '-' removed, 'M' content (or type) changed,",
    "'U' only metadata (mode, owner, mtime) changed; then a count of each.",
  ].join("\n"),
  usesRepository: true,
  options: { ...SNAPSHOT_FILTER_OPTIONS },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 2);
    const repo = await openRepository(ctx, { read: true });
    const all = await repo.listSnapshots();
    const filter = snapshotFilter(ctx.flags);
    const a = selectSnapshot(all, ctx.positionals[0], filter);
    const b = selectSnapshot(all, ctx.positionals[1], filter);
    const entries = await diffSnapshots(repo, a, b, { signal: ctx.signal });
    const summary = diffSummary(entries);
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify({
        from: a.id,
        to: b.id,
        changes: entries.map((e) => ({ path: e.path, change: e.change, details: e.details })),
        summary,
      }));
      return 0;
    }
    ctx.output.out(`comparing snapshot ${a.id.slice(0, 8)} to ${b.id.slice(0, 8)}:`);
    for (const e of entries) {
      const what = e.details.length > 0 ? `  (${e.details.join(", ")})` : "";
      ctx.output.out(`${MARK[e.change]}    ${printable(e.path)}${what}`);
    }
    ctx.output.out(
      `${summary.added} added, ${summary.removed} removed, ${summary.modified} modified, ${summary.metadata} with changed metadata`,
    );
    return 0;
  },
};
