/**
 * A repository's scheduled maintenance (`[repository.NAME.prune]`,
 * `[repository.NAME.check]`), run as a job: `cairn prune` or `cairn check`
 * with the job file's settings, ending in a {@linkcode RunResult}.
 *
 * @module
 */
import { openBackend, type OpenOptions } from "../backend/mod.ts";
import type { MaintenanceTask, RunResult } from "../job/mod.ts";
import {
  acquireSharedLock,
  checkRepository,
  openRepositoryForCheck,
  parseDataSubset,
  pruneRepository,
  Repository,
} from "../repo/mod.ts";
import { formatBytes, printable } from "../text/mod.ts";

/** Where the task runs: the repository as the job file names it. */
export interface MaintenanceTarget {
  location: string;
  open: OpenOptions;
  password: string;
}

/**
 * Runs `task` on the repository. A prune that completes is a success (what
 * it freed is one line); a check that finds damage fails, naming the first
 * problem, with every problem a line of its own. Errors propagate.
 */
export async function runMaintenance(
  task: MaintenanceTask,
  target: MaintenanceTarget,
  signal: AbortSignal | undefined,
  say: (line: string) => void,
): Promise<RunResult> {
  const onWarning = (m: string) => say(`warning: ${printable(m)}`);
  const backend = openBackend(target.location, target.open);
  if (task.task === "prune") {
    const repo = await Repository.open(backend, target.password, { onWarning });
    const s = await pruneRepository(repo, {
      graceMs: task.graceMs,
      maxUnusedFraction: task.maxUnusedFraction,
      signal,
      onProgress: (m) => {
        if (m.startsWith("warning:")) say(m);
      },
    });
    say(
      `prune: ${s.blobsRemoved} blob(s) and ${s.packsDropped} pack(s) out of the index, ` +
        `${s.packsDeleted} pack(s) deleted, ${formatBytes(s.bytesFreed)} freed` +
        (s.packsPending > 0
          ? `; ${s.packsPending} pack(s) (${formatBytes(s.bytesPending)}) wait for the grace period`
          : ""),
    );
    return { result: "success" };
  }
  const repo = await openRepositoryForCheck(backend, target.password, { onWarning });
  const lock = await acquireSharedLock(repo, { signal, onWarning });
  let checked;
  try {
    checked = await checkRepository(repo, {
      readData: task.readData === true || task.readDataSubset !== undefined,
      readDataSubset: task.readDataSubset === undefined
        ? undefined
        : parseDataSubset(task.readDataSubset),
      signal,
    });
  } finally {
    await lock.release();
  }
  const line = (i: { object: string; message: string }) =>
    `${printable(i.object)}: ${printable(i.message)}`;
  for (const w of checked.warnings) say(`warning: check: ${line(w)}`);
  for (const e of checked.errors) say(`error: check: ${line(e)}`);
  const s = checked.stats;
  const read = task.readData || task.readDataSubset
    ? `, ${s.blobsRead} blob(s) read (${formatBytes(s.bytesRead)})`
    : "";
  say(
    `check: ${s.snapshots} snapshot(s), ${s.trees} tree(s), ${s.packs} pack(s)${read}: ` +
      `${checked.errors.length} error(s)`,
  );
  if (checked.errors.length === 0) return { result: "success" };
  return {
    result: "failed",
    error: `check found ${checked.errors.length} error(s), first ${line(checked.errors[0])}`,
  };
}
