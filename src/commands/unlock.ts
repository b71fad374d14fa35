import { type Command, expectPositionals, openRepository } from "../cli/mod.ts";
import { removeAllLocks, removeStaleLocks, STALE_LOCK_MS } from "../repo/mod.ts";

/** `cairn unlock`: remove locks whose holders are gone. */
export const unlockCommand: Command = {
  name: "unlock",
  summary: "remove stale locks (of killed or long-gone processes)",
  usage: "cairn unlock [--remove-all] [--json]",
  description: [
    `A lock is stale when it was not refreshed for ${STALE_LOCK_MS / 60_000} minutes, or when`,
    "it names this host and a process that no longer runs. --remove-all removes live",
    "locks too: use it only when no other cairn uses the repository.",
  ].join("\n"),
  usesRepository: true,
  options: {
    "remove-all": { type: "boolean", description: "remove every lock, live ones too" },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const repo = await openRepository(ctx);
    const removed = ctx.flags["remove-all"]
      ? await removeAllLocks(repo, { signal: ctx.signal })
      : await removeStaleLocks(repo, { signal: ctx.signal });
    if (ctx.flags.json) ctx.output.out(JSON.stringify({ removed }));
    else ctx.output.out(`removed ${removed.length} lock(s)`);
    return 0;
  },
};
