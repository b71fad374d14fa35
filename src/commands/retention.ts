import {
  type Command,
  expectPositionals,
  openRepository,
  snakeCaseKeys,
  UsageError,
} from "../cli/mod.ts";
import { renewRetention } from "../repo/mod.ts";

/** `cairn retention renew`: extend the Object Lock of what the repository still uses. */
export const retentionCommand: Command = {
  name: "retention",
  summary: "renew the S3 Object Lock retention of what the snapshots use",
  usage: "cairn retention renew [--json]",
  description: [
    "For a repository made with 'init --object-lock MODE:DAYS': extends the retention of",
    "every snapshot, live index file and indexed pack to DAYS from now where less than",
    "DAYS - 1 remain. Packs prune took out of the index are left to run out.",
    "prune does this too; run it from a maintenance host (it needs s3:PutObjectRetention).",
  ].join("\n"),
  usesRepository: true,
  options: {},
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 1);
    if (ctx.positionals[0] !== "renew") {
      throw new UsageError(`cairn retention: unknown verb "${ctx.positionals[0]}" (try renew)`);
    }
    const repo = await openRepository(ctx);
    if (!repo.config.object_lock) {
      throw new UsageError(
        "this repository has no Object Lock (create one with 'cairn init --object-lock')",
      );
    }
    const stats = await renewRetention(repo, {
      signal: ctx.signal,
      onProgress: (m) => ctx.output.status(m),
    });
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify(snakeCaseKeys({ message_type: "summary", ...stats })));
    } else {
      ctx.output.out(
        `renewed ${stats.renewed} of ${stats.files} file(s) until ${
          new Date(stats.untilMs).toISOString()
        }`,
      );
    }
    return 0;
  },
};
