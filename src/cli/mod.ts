/**
 * The command-line framework: command definitions, argument parsing, help,
 * output, and how the repository and password are found.
 *
 * @module
 */
export * from "./command.ts";
export * from "./errors.ts";
export * from "./output.ts";
export * from "./repository_options.ts";
export * from "./run.ts";
export * from "./snapshot_filter.ts";
export * from "./completion.ts";
export * from "./progress.ts";
export * from "./log.ts";
