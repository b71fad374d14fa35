import { findPath, splitPath, walkSnapshot } from "../catalog/mod.ts";
import {
  type Command,
  expectPositionals,
  findSnapshotArg,
  formatBytes,
  openRepository,
  printable,
  SNAPSHOT_FILTER_OPTIONS,
} from "../cli/mod.ts";
import { type Node, nsToDate } from "../repo/mod.ts";
import { localTime } from "./snapshots.ts";

/** `cairn ls`: list what a snapshot holds. */
export const lsCommand: Command = {
  name: "ls",
  summary: "list the files in a snapshot",
  usage: "cairn ls SNAPSHOT [PATH] [--long] [--host H] [--path P] [--tag T] [--job J] [--json]",
  description: [
    "Lists PATH (default: /) and everything below it. SNAPSHOT is an id, a unique",
    "id prefix or 'latest'. --json prints one array of entries.",
  ].join("\n"),
  usesRepository: true,
  options: {
    long: { type: "boolean", short: "l", description: "show mode, owner, size and time" },
    ...SNAPSHOT_FILTER_OPTIONS,
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 1, 2);
    const [ref, path = "/"] = ctx.positionals;
    const repo = await openRepository(ctx, { read: true });
    const snapshot = await findSnapshotArg(repo, ref, ctx.flags);
    const abs = "/" + splitPath(path).join("/");
    const top = await findPath(repo, snapshot, abs);
    if (!top) {
      throw new Error(`No path ${printable(abs)} in snapshot ${snapshot.id.slice(0, 8)}`);
    }
    // Printed as walked: a snapshot can hold more entries than fit in memory.
    // JSON stays one line (scripts read the last line), written in pieces.
    const json = ctx.flags.json === true;
    const enc = new TextEncoder();
    let pending = "";
    let first = true;
    const print = async (path: string, node: Node) => {
      if (!json) ctx.output.out(ctx.flags.long ? longLine(path, node) : printable(path));
      else {
        pending += `${first ? "[" : ","}${JSON.stringify(entryJson(path, node))}`;
        if (pending.length >= 64 * 1024) {
          await ctx.output.writeBytes(enc.encode(pending));
          pending = "";
        }
      }
      first = false;
    };
    if (abs !== "/") await print(abs, top);
    if (top.type === "dir" && top.subtree) {
      for await (const e of walkSnapshot(repo, top.subtree, { prefix: abs, signal: ctx.signal })) {
        await print(e.path, e.node);
      }
    }
    if (json) await ctx.output.writeBytes(enc.encode(`${pending}${first ? "[" : ""}]\n`));
    return 0;
  },
};

/** The JSON form of one entry in `ls`. */
export function entryJson(path: string, n: Node) {
  return {
    path,
    name: n.name,
    type: n.type,
    size: n.type === "file" ? n.size ?? 0 : undefined,
    mode: n.mode,
    permissions: modeString(n),
    uid: n.uid,
    gid: n.gid,
    mtime: nsToDate(n.mtime).toISOString(),
    links: n.links,
    inode: n.inode,
    target: n.target,
  };
}

function longLine(path: string, n: Node): string {
  const size = n.type === "file" ? formatBytes(n.size ?? 0) : "";
  const link = n.type === "symlink" ? ` -> ${printable(n.target ?? "")}` : "";
  return `${modeString(n)} ${String(n.uid).padStart(5)} ${String(n.gid).padStart(5)} ${
    size.padStart(10)
  } ${localTime(nsToDate(n.mtime).toISOString())} ${printable(path)}${link}`;
}

const TYPE_CHAR: Record<Node["type"], string> = {
  file: "-",
  dir: "d",
  symlink: "l",
  fifo: "p",
  socket: "s",
  chardev: "c",
  blockdev: "b",
};

/** `ls -l`-style mode: `drwxr-xr-x`, with s/t for setuid, setgid and sticky. */
export function modeString(n: Pick<Node, "type" | "mode">): string {
  const m = n.mode;
  const rwx = (shift: number, special: number, ch: string) => {
    const x = (m >> shift) & 1;
    const xs = m & special ? (x ? ch : ch.toUpperCase()) : (x ? "x" : "-");
    return `${(m >> (shift + 2)) & 1 ? "r" : "-"}${(m >> (shift + 1)) & 1 ? "w" : "-"}${xs}`;
  };
  return TYPE_CHAR[n.type] + rwx(6, 0o4000, "s") + rwx(3, 0o2000, "s") + rwx(0, 0o1000, "t");
}
