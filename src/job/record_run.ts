import type { RunRecord } from "./agent.ts";
import type { JobConfig } from "./types.ts";
import { writeMetrics } from "./metrics.ts";
import { StatusStore } from "./status.ts";

/**
 * Records a finished run in the status store and rewrites the metrics file
 * (if configured) with the records of `jobs`.
 */
export async function recordRun(
  config: Pick<JobConfig, "stateDir" | "metricsFile">,
  record: RunRecord,
  jobs: readonly string[],
): Promise<void> {
  const store = new StatusStore(config.stateDir);
  await store.recordRun(record);
  if (config.metricsFile) await writeMetrics(config.metricsFile, await store.readAll(jobs));
}
