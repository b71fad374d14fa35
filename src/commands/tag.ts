import {
  type Command,
  listFlag,
  openRepository,
  selectSnapshotArgs,
  SNAPSHOT_FILTER_OPTIONS,
  UsageError,
} from "../cli/mod.ts";
import { type TagChange, tagSnapshots } from "../repo/mod.ts";

/** `cairn tag`: add, remove or set the tags of snapshots, as restic's. */
export const tagCommand: Command = {
  name: "tag",
  summary: "add, remove or replace the tags of snapshots",
  usage: "cairn tag [--add T] [--remove T] [--set T] [SNAPSHOT...] " +
    "[--host H] [--path P] [--tag T] [--job J] [--json]",
  description: [
    "Changes the snapshots the SNAPSHOT arguments name, or with none every snapshot the",
    "filters select. --set replaces all tags; --remove and --add (which may be combined)",
    "change them. Each option is repeatable and takes T or T1,T2. A changed snapshot is",
    "written anew (recording the id it replaced as 'original') and the old file removed,",
    "under the exclusive lock, as restic does; its data is untouched.",
  ].join("\n"),
  usesRepository: true,
  options: {
    add: { type: "string", multiple: true, arg: "T[,T]", description: "add these tags" },
    remove: { type: "string", multiple: true, arg: "T[,T]", description: "remove these tags" },
    set: {
      type: "string",
      multiple: true,
      arg: "T[,T]",
      description: "replace all tags with these ('' for none)",
    },
    ...SNAPSHOT_FILTER_OPTIONS,
  },
  async run(ctx) {
    const split = (name: string) =>
      listFlag(ctx.flags, name).flatMap((v) => v.split(",")).map((t) => t.trim());
    const change: TagChange = {};
    if (ctx.flags.set !== undefined) change.set = split("set");
    if (ctx.flags.add !== undefined) change.add = split("add");
    if (ctx.flags.remove !== undefined) change.remove = split("remove");
    if (!change.set && !change.add && !change.remove) {
      throw new UsageError("nothing to do: give --add, --remove or --set");
    }
    if (change.set && (change.add || change.remove)) {
      throw new UsageError("--set cannot be combined with --add or --remove");
    }
    const repo = await openRepository(ctx);
    const snapshots = await selectSnapshotArgs(repo, ctx.positionals, ctx.flags);
    const changed = await tagSnapshots(repo, snapshots, change, { signal: ctx.signal });
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify({
        changed: changed.map((c) => ({ old_id: c.old, new_id: c.id })),
        unchanged: snapshots.length - changed.length,
      }));
      return 0;
    }
    for (const c of changed) {
      ctx.output.out(`snapshot ${c.old.slice(0, 8)} -> ${c.id!.slice(0, 8)}`);
    }
    ctx.output.out(
      `changed the tags of ${changed.length} of ${snapshots.length} snapshot(s)`,
    );
    return 0;
  },
};
