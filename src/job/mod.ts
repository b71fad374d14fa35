/**
 * The job system: job files (`cairn.toml`), the agent's scheduler, run
 * status, metrics and hooks. Retention policies live in `src/catalog`.
 *
 * @module
 */

export * from "./types.ts";
export * from "./config_error.ts";
export * from "./config.ts";
export * from "./duration.ts";
export * from "./schedule.ts";
export * from "./clock.ts";
export * from "./agent.ts";
export * from "./status.ts";
export * from "./metrics.ts";
export * from "./hooks.ts";
export * from "./watch.ts";
export * from "./health_ping.ts";
export * from "./record_run.ts";
