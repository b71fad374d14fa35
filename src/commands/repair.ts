import {
  type Command,
  expectPositionals,
  openRepository,
  printable,
  snakeCaseKeys,
  UsageError,
} from "../cli/mod.ts";
import { repairIndex, repairSnapshots } from "../repo/mod.ts";

/** `cairn repair index|snapshots`: recover what damage left. */
export const repairCommand: Command = {
  name: "repair",
  summary: "rebuild the index from the packs, or rewrite damaged snapshots",
  usage: "cairn repair index | cairn repair snapshots [--forget] [--dry-run] [--json]",
  description: [
    "repair index: read every pack's header and write one index that lists them all,",
    "replacing every index file (damaged ones too). Deletes no pack.",
    "repair snapshots: rewrite each snapshot that needs a tree that cannot be read or a",
    "data blob stored nowhere: such a directory is kept empty, such a file left out.",
    "The new snapshot is tagged 'repaired', marked incomplete and lists what was lost;",
    "--forget removes the originals (and snapshot files that cannot be read at all).",
    "Run 'repair index' first when the index is damaged.",
  ].join("\n"),
  usesRepository: true,
  options: {
    forget: { type: "boolean", description: "repair snapshots: remove the damaged originals" },
    "dry-run": { type: "boolean", short: "n", description: "repair snapshots: only report" },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 1);
    const what = ctx.positionals[0];
    if (what !== "index" && what !== "snapshots") {
      throw new UsageError(
        `cairn repair: expected "index" or "snapshots", not "${printable(what)}"`,
      );
    }
    const repo = await openRepository(ctx);
    const json = ctx.flags.json === true;
    const progress = (m: string) =>
      m.startsWith("warning:") ? ctx.output.err(m) : ctx.output.status(m);
    if (what === "index") {
      const s = await repairIndex(repo, { signal: ctx.signal, onProgress: progress });
      if (json) ctx.output.out(JSON.stringify(snakeCaseKeys(s)));
      else {
        ctx.output.out(
          `indexed ${s.blobs} blob(s) in ${s.packs} pack(s), replacing ${s.indexFilesReplaced} ` +
            `index file(s)${
              s.unreadablePacks.length ? `; ${s.unreadablePacks.length} pack(s) unreadable` : ""
            }`,
        );
      }
      return s.unreadablePacks.length > 0 ? 1 : 0;
    }
    const r = await repairSnapshots(repo, {
      forget: ctx.flags.forget === true,
      dryRun: ctx.flags["dry-run"] === true,
      signal: ctx.signal,
      onProgress: progress,
    });
    if (json) ctx.output.out(JSON.stringify(snakeCaseKeys(r)));
    else {
      for (const s of r.repaired) {
        const to = s.id ? ` -> ${s.id.slice(0, 8)}` : " (dry run)";
        ctx.output.out(`snapshot ${s.original.slice(0, 8)}${to}: lost ${s.lost.length} path(s)`);
        for (const p of s.lost) ctx.output.out(`  lost: ${printable(p)}`);
      }
      for (const name of r.unreadable) {
        ctx.output.out(
          `snapshot file ${name.slice(0, 8)} cannot be read${ctx.flags.forget ? ": removed" : ""}`,
        );
      }
      ctx.output.out(`${r.repaired.length} snapshot(s) repaired`);
    }
    return 0;
  },
};
