/**
 * Every `cairn` subcommand, in the order `cairn --help` lists them.
 *
 * @module
 */
import type { Command } from "../cli/mod.ts";
import { initCommand } from "./init.ts";
import { backupCommand } from "./backup.ts";
import { snapshotsCommand } from "./snapshots.ts";
import { lsCommand } from "./ls.ts";
import { findCommand } from "./find.ts";
import { diffCommand } from "./diff.ts";
import { dumpCommand } from "./dump.ts";
import { restoreCommand } from "./restore.ts";
import { mirrorCommand } from "./mirror.ts";
import { checkCommand } from "./check.ts";
import { pruneCommand } from "./prune.ts";
import { retentionCommand } from "./retention.ts";
import { unlockCommand } from "./unlock.ts";
import { keyCommand } from "./key.ts";
import { repairCommand } from "./repair.ts";
import { tagCommand } from "./tag.ts";
import { rewriteCommand } from "./rewrite.ts";
import { copyCommand } from "./copy.ts";
import { statsCommand } from "./stats.ts";
import { uiCommand } from "./ui.ts";
import { JOB_COMMANDS } from "./_fleet_commands.ts";
import { completionCommand, manCommand } from "./completion.ts";

export const COMMANDS: readonly Command[] = [
  initCommand,
  backupCommand,
  snapshotsCommand,
  tagCommand,
  lsCommand,
  findCommand,
  diffCommand,
  dumpCommand,
  restoreCommand,
  mirrorCommand,
  copyCommand,
  checkCommand,
  pruneCommand,
  retentionCommand,
  unlockCommand,
  keyCommand,
  repairCommand,
  rewriteCommand,
  statsCommand,
  ...JOB_COMMANDS,
  uiCommand,
  completionCommand(() => COMMANDS),
  manCommand(() => COMMANDS),
];
