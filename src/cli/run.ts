import { WrongPasswordError } from "../crypto/mod.ts";
import { boundHeap, traceMemory } from "../platform/mod.ts";
import denoJson from "../../deno.json" with { type: "json" };
import { type Command, type CommandContext, commandHelp, parseCommandArgs } from "./command.ts";
import { ExitCode, InterruptedError, UsageError } from "./errors.ts";
import { type Output, printable } from "./output.ts";
import { nearest } from "./suggest.ts";

/** The version printed by `cairn version`: the one `deno.json` declares, so there is one place. */
export const VERSION: string = denoJson.version;

/** Top-level help: every command with its summary. */
export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    "cairn: encrypted, deduplicated backups with browsable mirrors",
    "",
    "Usage: cairn COMMAND [OPTIONS] [ARGS]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Run 'cairn help COMMAND' (or 'cairn COMMAND --help') for a command's options.",
    "Exit codes: 0 success, 1 fatal error, 2 usage or configuration error,",
    "3 backup finished but some source files could not be read, 130 interrupted.",
  ].join("\n");
}

/** Is this error the user's to fix in the command line or configuration? */
function isUsageError(err: unknown): boolean {
  return err instanceof UsageError || (err instanceof Error && err.name === "ConfigError");
}

/**
 * Runs `cairn ARGS...`: finds the command, parses its options and maps any
 * error to a one-line message and an exit code.
 */
export async function runCli(
  commands: readonly Command[],
  args: string[],
  env: Record<string, string | undefined>,
  output: Output,
  signal: AbortSignal,
): Promise<number> {
  traceMemory("main");
  boundHeap();
  const [name, ...rest] = args;
  if (name === "help" && rest.length > 0) {
    return runCli(commands, [rest[0], "--help"], env, output, signal);
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    output.out(mainHelp(commands));
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === "--version" || name === "version") {
    output.out(`cairn ${VERSION}`);
    return ExitCode.ok;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    const near = nearest(name, [...commands.map((c) => c.name), "help", "version"]);
    const hint = near ? `did you mean "${near}"? ` : "";
    output.log.log(
      "error",
      `cairn: unknown command "${printable(name)}" (${hint}see 'cairn --help')`,
      { bare: true },
    );
    return ExitCode.usage;
  }
  const atEnd: (() => Promise<void>)[] = [];
  try {
    const { flags, positionals } = parseCommandArgs(cmd, rest);
    if (flags.quiet && flags.verbose) {
      throw new UsageError("--quiet and --verbose exclude each other");
    }
    output.log.verbosity = flags.quiet ? "quiet" : flags.verbose ? "verbose" : "normal";
    if (flags.help) {
      output.out(commandHelp(cmd));
      return ExitCode.ok;
    }
    const ctx: CommandContext = {
      flags,
      positionals,
      env,
      output,
      signal,
      atEnd: (step) => void atEnd.push(step),
    };
    try {
      return await cmd.run(ctx);
    } finally {
      for (const step of atEnd.reverse()) await step().catch(() => {});
    }
  } catch (err) {
    const prefix = `cairn ${cmd.name}: `;
    let msg = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    // A message that names its command already is not prefixed twice.
    while (msg.startsWith(prefix)) msg = msg.slice(prefix.length);
    const interrupted = signal.aborted || err instanceof InterruptedError;
    if (interrupted) msg = "interrupted";
    output.log.log("error", `${prefix}${printable(msg)}`, { bare: true });
    if (err instanceof Error && err.stack) {
      if (env.CAIRN_DEBUG) output.log.log("error", err.stack, { bare: true });
      else output.log.debug(err.stack);
    }
    if (interrupted) return ExitCode.interrupted;
    if (isUsageError(err)) return ExitCode.usage;
    if (err instanceof WrongPasswordError) return ExitCode.fatal;
    return ExitCode.fatal;
  }
}
