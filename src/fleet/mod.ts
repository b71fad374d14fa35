/**
 * The fleet behind `cairn agent`: local jobs and this host's signed remote
 * jobs under one scheduler, with polling, reloads, status and run reports.
 * The scheduler itself is `job`'s `Agent`, the protocol `remote`'s; running a
 * job is injected (the runner's `runJobNow`), so the fleet never touches a
 * repository.
 *
 * @module
 */

export {
  Fleet,
  type FleetOptions,
  type HeartbeatSink,
  type JobDocumentSource,
  nothingDue,
  type ReportSink,
  type RunFleetJob,
} from "./fleet.ts";
export { toReport } from "./to_report.ts";
