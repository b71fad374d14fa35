/**
 * Restoring snapshots to a local directory, safely: nothing is written
 * outside the target or through a link, and special files and bits are
 * restored only when asked for.
 *
 * @module
 */
export * from "./restore.ts";
export * from "./to_device.ts";
export * from "./plan.ts";
