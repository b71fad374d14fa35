/**
 * Running one job of a job file now, the work `cairn run` and `cairn agent`
 * share: the job's `before` hooks, the backup (with its mirror) into the
 * job's repository, created on first use when the job says `init`, the new
 * snapshot copied to the job's `copy_to` repositories, the `after` hooks,
 * then the job's `keep` policy. A run never throws: it ends
 * in a `RunResult` the caller records and prints.
 *
 * The scheduler that decides when a job runs is `job`'s `Agent`; the fleet
 * that adds remote jobs and sends reports is `fleet`.
 *
 * @module
 */

export {
  describeResult,
  exitCodeOf,
  readJobPassword,
  runJobNow,
  type RunJobNowOptions,
  worstExitCode,
} from "./run_job.ts";
