import { resolve } from "node:path";
import {
  type ArchiverRepo,
  backup,
  type BackupOptions,
  type BackupResult,
  type MirrorSink,
} from "../archiver/mod.ts";
import { DirLister } from "../walker/mod.ts";
import { mirrorBase } from "./base.ts";
import { MIRROR_WRITER_MODULE } from "./file_writer.ts";
import { type MirrorOptions, type MirrorResult, MirrorRun } from "./mirror_run.ts";

/** A backup and the mirror written in the same pass. */
export interface MirroredBackupResult extends BackupResult {
  mirror: MirrorResult;
}

/**
 * Backs up `opts.paths` and brings the mirror up to date in the same pass:
 * each file that must be (re)written in the mirror is written by the worker
 * that reads it for chunking, from the same buffer, so every source file is
 * read once. The mirror's marker names the snapshot once both are complete.
 */
export async function backupWithMirror(
  repo: ArchiverRepo,
  opts: BackupOptions,
  mirror: MirrorOptions,
): Promise<MirroredBackupResult> {
  const time = opts.time ?? new Date();
  const paths = opts.paths.map((p) => resolve(p));
  // The mirror's listings come from a worker thread ahead of the walk, as the sources' do.
  const lister = new DirLister();
  const run = MirrorRun.open(mirror, { job: opts.job, host: opts.host, time }, paths, lister);
  const base = mirrorBase(paths, (p) => {
    try {
      return Deno.lstatSync(p).isDirectory;
    } catch {
      return false;
    }
  });
  const hooks: MirrorSink = {
    writerModule: MIRROR_WRITER_MODULE,
    root: (path, entry, names) => path === base ? run.tree.root(entry, names) : undefined,
    written: (target, bytes, error, retimed, warnings) =>
      run.tree.written(target, bytes, error, retimed, warnings),
    saturated: () => lister.close(),
  };
  let result: BackupResult;
  try {
    result = await backup(repo, { ...opts, time, mirror: hooks });
  } catch (err) {
    run.abandon();
    throw err;
  } finally {
    lister.close();
  }
  return { ...result, mirror: await run.finish(result.id) };
}
