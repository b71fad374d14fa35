/** The command line or configuration is wrong: exit code 2. */
export class UsageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** The user stopped the command at a prompt (Ctrl-C read in raw mode): exit code 130. */
export class InterruptedError extends Error {
  constructor() {
    super("interrupted");
    this.name = "InterruptedError";
  }
}

/** Exit codes, as documented in the README. */
export const ExitCode = {
  ok: 0,
  fatal: 1,
  usage: 2,
  /** The backup finished but some source files could not be read. */
  partial: 3,
  /** Stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it). */
  interrupted: 130,
} as const;
