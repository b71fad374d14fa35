import { filterSnapshots } from "../catalog/mod.ts";
import {
  type Command,
  expectPositionals,
  openRepository,
  printable,
  SNAPSHOT_FILTER_OPTIONS,
  snapshotFilter,
} from "../cli/mod.ts";
import type { SnapshotWithId } from "../repo/mod.ts";

/** `cairn snapshots`: list snapshots. */
export const snapshotsCommand: Command = {
  name: "snapshots",
  summary: "list snapshots",
  usage: "cairn snapshots [--host H] [--path P] [--tag T] [--job J] [--json]",
  description: [
    "Lists snapshots oldest first, grouped by host, with the job that made each.",
    "--json prints one flat array.",
  ].join("\n"),
  usesRepository: true,
  options: { ...SNAPSHOT_FILTER_OPTIONS },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const repo = await openRepository(ctx);
    const all = filterSnapshots(await repo.listSnapshots(), snapshotFilter(ctx.flags));
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify(all.map(snapshotJson)));
      return 0;
    }
    const hosts = [...new Set(all.map((s) => s.host))].sort();
    for (const host of hosts) {
      const mine = all.filter((s) => s.host === host);
      ctx.output.out(`host ${printable(host)}: ${plural(mine.length, "snapshot")}`);
      ctx.output.out(
        `  ${"ID".padEnd(10)} ${"Time".padEnd(20)} ${"Job".padEnd(12)} ${"Tags".padEnd(14)} Paths`,
      );
      for (const s of mine) {
        const flags = s.incomplete ? " (incomplete)" : "";
        ctx.output.out(
          `  ${s.id.slice(0, 8).padEnd(10)} ${localTime(s.time).padEnd(20)} ${
            printable(s.job ?? "-").padEnd(12)
          } ${printable(s.tags.join(",")).padEnd(14)} ${s.paths.map(printable).join(" ")}${flags}`,
        );
      }
    }
    ctx.output.out(
      `${plural(all.length, "snapshot")}${
        hosts.length > 1 ? ` from ${plural(hosts.length, "host")}` : ""
      }`,
    );
    return 0;
  },
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The JSON form of a snapshot in command output. */
export function snapshotJson(s: SnapshotWithId) {
  return {
    id: s.id,
    short_id: s.id.slice(0, 8),
    time: s.time,
    host: s.host,
    username: s.username,
    paths: s.paths,
    tags: s.tags,
    tree: s.tree,
    parent: s.parent,
    job: s.job,
    original: s.original,
    incomplete: s.incomplete !== undefined,
    summary: s.summary,
  };
}

/** `YYYY-MM-DD HH:MM:SS` in local time. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}`;
}
