import { openBackend } from "../backend/mod.ts";
import {
  type Command,
  ExitCode,
  expectPositionals,
  formatBytes,
  lockToRead,
  printable,
  PROGRESS_OPTION,
  progressWanted,
  readPassword,
  repositoryLocation,
  snakeCaseKeys,
  startProgress,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import {
  type CheckProgress,
  checkRepository,
  type DataSubset,
  openRepositoryForCheck,
  parseDataSubset,
} from "../repo/mod.ts";

/** `cairn check`: verify the repository's structure, and optionally all its data. */
export const checkCommand: Command = {
  name: "check",
  summary: "check the repository for damage",
  usage: "cairn check [--read-data | --read-data-subset N/M|P%|SIZE] [--json]",
  description: [
    "Follows snapshot -> tree -> blob -> index -> pack: every snapshot and tree loads,",
    "every blob a file needs is indexed, every indexed pack exists and its trailer",
    "agrees. --read-data also decrypts and re-hashes every blob of every pack.",
    "Each problem is one line naming the damaged object; exit code 1 if any.",
  ].join("\n"),
  usesRepository: true,
  options: {
    progress: PROGRESS_OPTION,
    "read-data": { type: "boolean", description: "read and verify every blob of every pack" },
    "read-data-subset": {
      type: "string",
      arg: "N/M|P%|SIZE",
      description: "read and verify only part N of M of the packs, a random P%, or up to SIZE",
    },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const subsetText = stringFlag(ctx.flags, "read-data-subset");
    let readDataSubset: DataSubset | undefined;
    try {
      readDataSubset = subsetText === undefined ? undefined : parseDataSubset(subsetText);
    } catch (err) {
      throw new UsageError(`--read-data-subset: ${(err as Error).message}`, { cause: err });
    }
    const readData = ctx.flags["read-data"] === true || readDataSubset !== undefined;
    // No local cache: check reads what the storage holds.
    const backend = openBackend(repositoryLocation(ctx), { env: ctx.env, cache: false });
    const { output } = ctx;
    const repo = await openRepositoryForCheck(backend, readPassword(ctx), {
      onWarning: (m) => output.err(`warning: ${printable(m)}`),
    });
    // check loads the index itself, tolerating damaged files, once it holds the lock.
    await lockToRead(ctx, repo, { refreshIndex: false });
    // Only reading the data takes long enough for a meter; the structure steps are a status line.
    let data: CheckProgress | undefined;
    const meter = startProgress(ctx, () =>
      data && {
        unit: "packs",
        items: data.done,
        bytes: data.bytes ?? 0,
        total: { items: data.total, bytes: data.bytesTotal ?? 0, final: true },
      });
    let result;
    try {
      result = await checkRepository(repo, {
        readData,
        readDataSubset,
        signal: ctx.signal,
        onProgress: (p) => {
          if (p.phase === "data") data = p;
          else if (progressWanted(ctx)) {
            output.status(`checking ${p.phase}: ${p.done} of ${p.total}`);
          }
        },
      });
    } finally {
      meter.stop();
    }
    const line = (i: { object: string; message: string }) =>
      `${printable(i.object)}: ${printable(i.message)}`;
    if (ctx.flags.json) {
      output.out(JSON.stringify({
        ok: result.errors.length === 0,
        errors: result.errors,
        warnings: result.warnings,
        stats: snakeCaseKeys(result.stats),
      }));
    } else {
      for (const w of result.warnings) output.out(`warning: ${line(w)}`);
      for (const e of result.errors) output.out(`error: ${line(e)}`);
      const s = result.stats;
      const read = readData ? `, ${s.blobsRead} blobs read (${formatBytes(s.bytesRead)})` : "";
      output.out(
        `checked ${s.snapshots} snapshots, ${s.trees} trees, ${s.dataBlobs} data blobs, ${s.packs} packs${read}: ${
          result.errors.length === 0 ? "no errors found" : `${result.errors.length} error(s) found`
        }`,
      );
    }
    return result.errors.length === 0 ? ExitCode.ok : ExitCode.fatal;
  },
};
