import { findPath, splitPath } from "../catalog/mod.ts";
import {
  type Command,
  expectPositionals,
  findSnapshotArg,
  openRepository,
  printable,
  SNAPSHOT_FILTER_OPTIONS,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import { ARCHIVE_FORMATS, type ArchiveFormat, writeArchive } from "../dump/mod.ts";
import { CorruptError, fileContent } from "../repo/mod.ts";

/** `cairn dump`: one file's content to stdout. */
export const dumpCommand: Command = {
  name: "dump",
  summary: "write a file, or a directory as a tar or zip archive, from a snapshot to stdout",
  usage:
    "cairn dump SNAPSHOT FILE [--host H] [--path P] [--tag T] [--job J]\n       cairn dump SNAPSHOT DIR --archive tar|zip",
  description: [
    "Streams the file blob by blob, so memory stays small for a file of any size.",
    "With --archive tar, DIR and everything below it is one tar archive (members named",
    "from DIR's own name; / gives the snapshot's top-level entries), with modes, numeric",
    "owners, times, symlinks, hard links and device nodes, for `tar -x` or `ssh`. With",
    "--archive zip, files are deflated, with Unix modes, owners and whole-second times;",
    "zip has no hard links (each name gets the content) nor FIFOs or devices (left out",
    "with a warning), and without Zip64 an archive stops at 4 GiB with an error.",
  ].join("\n"),
  usesRepository: true,
  options: {
    ...SNAPSHOT_FILTER_OPTIONS,
    archive: {
      type: "string",
      arg: "FORMAT",
      description: `write PATH and what is below it as an archive: ${ARCHIVE_FORMATS.join(", ")}`,
    },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 2);
    const [ref, path] = ctx.positionals;
    const format = stringFlag(ctx.flags, "archive");
    if (format !== undefined && !(ARCHIVE_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(
        `--archive ${printable(format)}: unknown format; use ${ARCHIVE_FORMATS.join(" or ")}`,
      );
    }
    const repo = await openRepository(ctx, { read: true });
    const snapshot = await findSnapshotArg(repo, ref, ctx.flags);
    const abs = "/" + splitPath(path).join("/");
    const node = await findPath(repo, snapshot, abs);
    const where = `${printable(abs)} in snapshot ${snapshot.id.slice(0, 8)}`;
    if (!node) throw new Error(`No file ${where}`);
    if (format !== undefined) {
      const parts = splitPath(abs);
      const r = await writeArchive(repo, node, parts.at(-1) ?? "", {
        format: format as ArchiveFormat,
        write: (b) => ctx.output.writeBytes(b),
        signal: ctx.signal,
        onDamaged: (p, id, length, err) =>
          ctx.output.err(
            `error: ${printable(p)}: data blob ${id} cannot be read (${
              printable((err as Error).message)
            }); written as ${length} zero bytes`,
          ),
        onSkipped: (p, why) => ctx.output.err(`warning: ${printable(p)}: ${why}; left out`),
      });
      if (r.damaged > 0) throw new Error(`${where}: ${r.damaged} damaged blob(s) written as zeros`);
      return 0;
    }
    if (node.type === "dir") throw new Error(`${where} is a directory; dump writes one file`);
    if (node.type !== "file") throw new Error(`${where} is a ${node.type}, not a file`);
    // A damaged blob is written as zeros of its length, so every byte after
    // it stays at its offset; each one is named, and the exit code is 1.
    let damaged = 0;
    const onDamaged = (id: string, err: unknown) => {
      damaged++;
      const length = repo.blobLength(id) ?? 0;
      ctx.output.err(
        `error: ${where}: data blob ${id} cannot be read (${
          printable((err as Error).message)
        }); written as ${length} zero bytes`,
      );
      return new Uint8Array(length);
    };
    // The size is checked against the index before the first byte is written,
    // so a file whose blobs disagree with it fails with nothing written.
    const content = fileContent(repo, node.content ?? [], {
      signal: ctx.signal,
      size: node.size,
      onDamaged,
    });
    try {
      for await (const blob of content) await ctx.output.writeBytes(blob);
    } catch (err) {
      if (!(err instanceof CorruptError)) throw err;
      throw new CorruptError(`${where}: ${err.message}`, { cause: err });
    }
    if (damaged > 0) throw new Error(`${where}: ${damaged} damaged blob(s) written as zeros`);
    return 0;
  },
};
