/**
 * One command's module by its name, for main.ts: a run of `cairn backup`
 * loads backup's module graph and not every other command's (59 MiB of RSS
 * against 65 for them all, measured by importing each alone). Commands not
 * listed here (the job commands, `completion` and `man`, which need the
 * whole table) and every other first argument load {@link COMMANDS} from
 * mod.ts as before. Each import is a literal specifier, so `deno compile`
 * includes it.
 *
 * @module
 */
import type { Command } from "../cli/mod.ts";

const LOADERS: Record<string, () => Promise<Command>> = {
  init: () => import("./init.ts").then((m) => m.initCommand),
  backup: () => import("./backup.ts").then((m) => m.backupCommand),
  snapshots: () => import("./snapshots.ts").then((m) => m.snapshotsCommand),
  tag: () => import("./tag.ts").then((m) => m.tagCommand),
  ls: () => import("./ls.ts").then((m) => m.lsCommand),
  find: () => import("./find.ts").then((m) => m.findCommand),
  diff: () => import("./diff.ts").then((m) => m.diffCommand),
  dump: () => import("./dump.ts").then((m) => m.dumpCommand),
  restore: () => import("./restore.ts").then((m) => m.restoreCommand),
  mirror: () => import("./mirror.ts").then((m) => m.mirrorCommand),
  copy: () => import("./copy.ts").then((m) => m.copyCommand),
  check: () => import("./check.ts").then((m) => m.checkCommand),
  prune: () => import("./prune.ts").then((m) => m.pruneCommand),
  retention: () => import("./retention.ts").then((m) => m.retentionCommand),
  unlock: () => import("./unlock.ts").then((m) => m.unlockCommand),
  key: () => import("./key.ts").then((m) => m.keyCommand),
  repair: () => import("./repair.ts").then((m) => m.repairCommand),
  rewrite: () => import("./rewrite.ts").then((m) => m.rewriteCommand),
  stats: () => import("./stats.ts").then((m) => m.statsCommand),
  ui: () => import("./ui.ts").then((m) => m.uiCommand),
};

/** Names {@link commandsFor} loads alone. */
export const LOADED_ALONE: readonly string[] = Object.keys(LOADERS);

/**
 * The commands `cairn NAME ...` needs: the one named, loaded alone, when it
 * is one of {@link LOADED_ALONE}; else the whole table (help, a typo's
 * suggestion, the job commands).
 */
export async function commandsFor(name: string | undefined): Promise<readonly Command[]> {
  if (name !== undefined && Object.hasOwn(LOADERS, name)) return [await LOADERS[name]()];
  return (await import("./mod.ts")).COMMANDS;
}
