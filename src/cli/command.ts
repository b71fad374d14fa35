import { parseArgs } from "node:util";
import { UsageError } from "./errors.ts";
import { nearest } from "./suggest.ts";
import type { Output } from "./output.ts";

/** One option of a command, as node:util's parseArgs takes it, plus help text. */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Placeholder in help, e.g. `DIR`. */
  arg?: string;
  description: string;
}

/** Parsed option values. */
export type Flags = Record<string, string | boolean | string[] | undefined>;

/** What a command gets: its parsed arguments, the environment and where to write. */
export interface CommandContext {
  positionals: string[];
  flags: Flags;
  env: Record<string, string | undefined>;
  output: Output;
  signal: AbortSignal;
  /** Registers a step to run once the command has ended, however it ends (e.g. release a lock). */
  atEnd?: (step: () => Promise<void>) => void;
}

/** A `cairn` subcommand: one file in src/commands. */
export interface Command {
  name: string;
  /** One line for `cairn --help`. */
  summary: string;
  /** e.g. `cairn ls SNAPSHOT [PATH]`. */
  usage: string;
  /** Longer help text, shown by `cairn CMD --help`. */
  description?: string;
  options: Record<string, OptionSpec>;
  /** Whether the global repository options apply. */
  usesRepository: boolean;
  /** Runs the command and returns its exit code. */
  run(ctx: CommandContext): Promise<number>;
}

/** Options every repository command takes. */
export const REPOSITORY_OPTIONS: Record<string, OptionSpec> = {
  repo: {
    type: "string",
    short: "r",
    arg: "LOCATION",
    description: "repository location (default: $CAIRN_REPO)",
  },
  "password-file": {
    type: "string",
    arg: "FILE",
    description: "read the password from FILE (default: $CAIRN_PASSWORD_FILE or $CAIRN_PASSWORD)",
  },
  "password-command": {
    type: "string",
    arg: "CMD",
    description: "the password is what CMD prints (sh -c; default: $CAIRN_PASSWORD_COMMAND)",
  },
};

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: "boolean", description: "print results as JSON" },
  quiet: {
    type: "boolean",
    short: "q",
    description: "only warnings, errors and results: no progress or info lines",
  },
  verbose: { type: "boolean", short: "v", description: "also print debug lines" },
  help: { type: "boolean", short: "h", description: "show this help" },
};

/** All options a command accepts. */
export function optionsOf(cmd: Command): Record<string, OptionSpec> {
  return {
    ...cmd.options,
    ...(cmd.usesRepository ? REPOSITORY_OPTIONS : {}),
    ...COMMON_OPTIONS,
  };
}

/** Parses a command's arguments; throws UsageError with a one-line message. */
export function parseCommandArgs(
  cmd: Command,
  args: string[],
): { flags: Flags; positionals: string[] } {
  const specs = optionsOf(cmd);
  const options: Record<
    string,
    { type: "string" | "boolean"; short?: string; multiple?: boolean }
  > = {};
  for (const [name, s] of Object.entries(specs)) {
    options[name] = { type: s.type, multiple: s.multiple ?? false };
    if (s.short) options[name].short = s.short;
  }
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      allowPositionals: true,
      strict: true,
    });
    return { flags: values as Flags, positionals };
  } catch (err) {
    throw new UsageError(argumentError(err as Error & { code?: string }, specs), { cause: err });
  }
}

/** node:util's parse error as one line, with the nearest option for an unknown one. */
function argumentError(err: Error & { code?: string }, specs: Record<string, OptionSpec>): string {
  const unknown = err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" &&
    /^Unknown option '([^']*)'/.exec(err.message)?.[1];
  if (!unknown) return err.message.split("\n")[0];
  const long = unknown.replace(/^-+/, "").replace(/=.*$/, "");
  const near = unknown.startsWith("--") ? nearest(long, Object.keys(specs)) : undefined;
  return `unknown option ${unknown.replace(/=.*$/, "")}${
    near ? ` (did you mean --${near}?)` : ""
  }; see --help`;
}

/** The help text of one command. */
export function commandHelp(cmd: Command): string {
  const lines = [`Usage: ${cmd.usage}`, "", cmd.summary];
  if (cmd.description) lines.push("", cmd.description);
  lines.push("", "Options:");
  for (const [name, s] of Object.entries(optionsOf(cmd))) {
    const flag = `${s.short ? `-${s.short}, ` : "    "}--${name}${s.arg ? ` ${s.arg}` : ""}`;
    lines.push(`  ${flag.padEnd(30)} ${s.description}`);
  }
  return lines.join("\n");
}

/** A string flag's value, or undefined. */
export function stringFlag(flags: Flags, name: string): string | undefined {
  const v = flags[name];
  return typeof v === "string" ? v : undefined;
}

/** A repeatable string flag's values (empty when absent). */
export function listFlag(flags: Flags, name: string): string[] {
  const v = flags[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

/** A non-negative integer flag, or undefined; UsageError when malformed. */
export function intFlag(flags: Flags, name: string): number | undefined {
  const v = stringFlag(flags, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} takes a whole number, not "${v}"`);
  return Number(v);
}

/** Checks the number of positional arguments; UsageError naming the usage otherwise. */
export function expectPositionals(cmd: Command, pos: string[], min: number, max = min): void {
  if (pos.length < min || pos.length > max) {
    throw new UsageError(
      `cairn ${cmd.name}: expected ${
        min === max ? min : `${min} to ${max === Infinity ? "more" : max}`
      } argument(s), got ${pos.length} (usage: ${cmd.usage})`,
    );
  }
}
