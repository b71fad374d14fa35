/**
 * The job and fleet commands (issues 3 and 5), for the lead to splice into
 * `COMMANDS` in `mod.ts`.
 *
 * @module
 */
import type { Command } from "../cli/mod.ts";
import { agentCommand } from "./agent.ts";
import { forgetCommand } from "./forget.ts";
import { keygenCommand } from "./keygen.ts";
import { runCommand } from "./run.ts";
import { serveCommand } from "./serve.ts";
import { signCommand } from "./sign.ts";
import { statusCommand } from "./status.ts";

export const JOB_COMMANDS: Command[] = [
  runCommand,
  agentCommand,
  statusCommand,
  forgetCommand,
  keygenCommand,
  signCommand,
  serveCommand,
];
