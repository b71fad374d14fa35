import { filterSnapshots, find } from "../catalog/mod.ts";
import {
  type Command,
  expectPositionals,
  formatBytes,
  openRepository,
  printable,
  SNAPSHOT_FILTER_OPTIONS,
  snapshotFilter,
} from "../cli/mod.ts";
import { nsToDate } from "../repo/mod.ts";
import { entryJson, modeString } from "./ls.ts";
import { localTime } from "./snapshots.ts";

/** `cairn find`: which snapshots hold matching paths, and their versions. */
export const findCommand: Command = {
  name: "find",
  summary: "find files by name or path across snapshots",
  usage: "cairn find GLOB [--host H] [--path P] [--tag T] [--job J] [--json]",
  description: [
    "A GLOB without '/' matches names at any depth ('*.pdf'); with '/' the whole path",
    "('/home/*/notes.txt'). For each matching path, lists its distinct versions",
    "(content or mtime) and the snapshots that hold each.",
  ].join("\n"),
  usesRepository: true,
  options: { ...SNAPSHOT_FILTER_OPTIONS },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 1);
    const repo = await openRepository(ctx, { read: true });
    const snapshots = filterSnapshots(await repo.listSnapshots(), snapshotFilter(ctx.flags));
    const r = await find(repo, snapshots, ctx.positionals[0], { signal: ctx.signal });
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify({
        paths: r.byPath.map((p) => ({
          path: p.path,
          versions: p.versions.map((v) => ({
            ...entryJson(p.path, v.node),
            snapshots: v.snapshots,
            first: v.first,
            last: v.last,
          })),
        })),
        snapshots: r.bySnapshot.map((m) => ({
          id: m.snapshot.id,
          time: m.snapshot.time,
          host: m.snapshot.host,
          paths: m.matches.map((x) => x.path),
        })),
      }));
      return 0;
    }
    for (const p of r.byPath) {
      ctx.output.out(printable(p.path));
      for (const v of p.versions) {
        const n = v.node;
        const size = n.type === "file" ? formatBytes(n.size ?? 0) : n.type;
        const ids = v.snapshots.map((id) => id.slice(0, 8));
        const shown = ids.length > 4 ? [...ids.slice(0, 2), "…", ...ids.slice(-2)] : ids;
        ctx.output.out(
          `  ${modeString(n)} ${size.padStart(10)}  ${
            localTime(nsToDate(n.mtime).toISOString())
          }  in ${ids.length} snapshot${ids.length === 1 ? "" : "s"}: ${shown.join(", ")}`,
        );
      }
    }
    ctx.output.out(
      `${r.byPath.length} matching path${
        r.byPath.length === 1 ? "" : "s"
      } in ${r.bySnapshot.length} of ${snapshots.length} snapshots`,
    );
    return 0;
  },
};
