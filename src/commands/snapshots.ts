import {
  type Command,
  expectPositionals,
  listFlag,
  openRepository,
  printable,
  stringFlag,
} from "../cli/mod.ts";
import type { SnapshotWithId } from "../repo/mod.ts";

/** `cairn snapshots`: list snapshots. */
export const snapshotsCommand: Command = {
  name: "snapshots",
  summary: "list snapshots",
  usage: "cairn snapshots [--host H] [--tag T] [--json]",
  usesRepository: true,
  options: {
    host: { type: "string", arg: "HOST", description: "only snapshots of this host" },
    tag: {
      type: "string",
      multiple: true,
      arg: "TAG",
      description: "only snapshots with this tag",
    },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const repo = await openRepository(ctx);
    const host = stringFlag(ctx.flags, "host");
    const tags = listFlag(ctx.flags, "tag");
    const all = (await repo.listSnapshots()).filter((s) =>
      (host === undefined || s.host === host) && tags.every((t) => s.tags.includes(t))
    );
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify(all.map(snapshotJson)));
      return 0;
    }
    ctx.output.out(
      `${"ID".padEnd(10)} ${"Time".padEnd(20)} ${"Host".padEnd(12)} ${"Tags".padEnd(14)} Paths`,
    );
    for (const s of all) {
      const flags = s.incomplete ? " (incomplete)" : "";
      ctx.output.out(
        `${s.id.slice(0, 8).padEnd(10)} ${localTime(s.time).padEnd(20)} ${
          printable(s.host).padEnd(12)
        } ${printable(s.tags.join(",")).padEnd(14)} ${s.paths.map(printable).join(" ")}${flags}`,
      );
    }
    ctx.output.out(`${all.length} snapshot${all.length === 1 ? "" : "s"}`);
    return 0;
  },
};

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
