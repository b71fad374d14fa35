/**
 * The Prometheus text exposition format, shared by the agent's textfile
 * (`job/metrics.ts`) and `cairn serve`'s `GET /metrics` (`remote/`).
 *
 * @module
 */

export {
  escapeLabelValue,
  type MetricFamily,
  renderExposition,
  type Sample,
} from "./exposition.ts";
