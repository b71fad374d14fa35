/**
 * Every `cairn` subcommand, in the order `cairn --help` lists them.
 *
 * @module
 */
import type { Command } from "../cli/mod.ts";
import { initCommand } from "./init.ts";
import { backupCommand } from "./backup.ts";
import { snapshotsCommand } from "./snapshots.ts";

export const COMMANDS: readonly Command[] = [
  initCommand,
  backupCommand,
  snapshotsCommand,
];
