/**
 * A repository's scheduled maintenance: `[repository.NAME.prune]` and
 * `[repository.NAME.check]`, each turned into a job the agent schedules
 * like any other (named `NAME.prune`, `NAME.check`).
 *
 * @module
 */
import { parseDataSubset } from "../text/mod.ts";
import { parseDuration } from "./duration.ts";
import type { Reader } from "./_reader.ts";
import { parseSchedule } from "./schedule.ts";
import type { JobDefinition, MaintenanceTask } from "./types.ts";

/** The keys of a repository table this file reads. */
export const MAINTENANCE_KEYS = ["prune", "check"] as const;

/** The job name of a repository's task. */
export function maintenanceJobName(repository: string, task: MaintenanceTask["task"]): string {
  return `${repository}.${task}`;
}

/** The maintenance jobs of the repository table `r` (named `repository`), in file order. */
export function parseMaintenance(r: Reader, repository: string): JobDefinition[] {
  const jobs: JobDefinition[] = [];
  for (const key of MAINTENANCE_KEYS) {
    const table = r.subTable(key);
    if (!table) continue;
    const t = r.child(key, table);
    t.onlyKeys(
      key === "prune"
        ? ["schedule", "jitter", "grace", "max_unused"]
        : ["schedule", "jitter", "read_data", "read_data_subset"],
    );
    const schedule = t.string("schedule", true).trim();
    t.convert("schedule", schedule, parseSchedule);
    const jitter = t.string("jitter");
    let task: MaintenanceTask;
    if (key === "prune") {
      task = { task: "prune" };
      const grace = t.string("grace");
      if (grace !== undefined) task.graceMs = t.convert("grace", grace, parseDuration);
      const maxUnused = t.integer("max_unused", { min: 0, max: 100 });
      if (maxUnused !== undefined) task.maxUnusedFraction = maxUnused / 100;
    } else {
      task = { task: "check" };
      if (t.boolean("read_data", false)) task.readData = true;
      const subset = t.string("read_data_subset");
      if (subset !== undefined) {
        if (task.readData) {
          t.fail(["read_data_subset"], `set "read_data" or "read_data_subset", not both`);
        }
        t.convert("read_data_subset", subset, parseDataSubset);
        task.readDataSubset = subset;
      }
    }
    jobs.push({
      name: maintenanceJobName(repository, task.task),
      repository,
      paths: [],
      exclude: [],
      excludeIfPresent: [],
      oneFileSystem: false,
      schedule,
      jitterMs: jitter === undefined ? 0 : t.convert("jitter", jitter, parseDuration),
      tags: [],
      before: [],
      after: [],
      maintenance: task,
    });
  }
  return jobs;
}
