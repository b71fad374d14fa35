/**
 * The small history chart of a dashboard row, drawn on the server as inline
 * SVG: over the last five weeks, one tick per run coloured by its result,
 * then the bytes each run added and how long it took, as bars scaled to the
 * largest in view. No script, no external file; every text is escaped.
 *
 * @module
 */

import { esc, formatBytes, formatTime } from "./_html.ts";
import { formatDuration } from "./_fleet_view.ts";
import type { ReceivedReport } from "./serve.ts";

/** How far back the chart reaches. */
export const CHART_SPAN_MS = 35 * 24 * 3600_000;

const W = 210;
const LANE = 14;
const GAP = 3;
const COLOURS: Record<string, string> = {
  success: "#2e7d32",
  partial: "#ef6c00",
  failure: "#c62828",
};

/** The SVG for `history` (sorted by end) as seen at `now`. */
export function historyChart(history: readonly ReceivedReport[], now: number): string {
  const from = now - CHART_SPAN_MS;
  const runs = history.filter((r) => Date.parse(r.end) >= from && Date.parse(r.end) <= now);
  const duration = (r: ReceivedReport) => Math.max(0, Date.parse(r.end) - Date.parse(r.start));
  const maxBytes = Math.max(1, ...runs.map((r) => r.bytes));
  const maxDuration = Math.max(1, ...runs.map(duration));
  const x = (r: ReceivedReport) =>
    ((Date.parse(r.end) - from) / CHART_SPAN_MS * (W - 2)).toFixed(1);
  const bar = (lane: number, fraction: number, r: ReceivedReport, colour: string) => {
    const h = Math.max(1, fraction * LANE);
    const y = lane * (LANE + GAP) + LANE - h;
    return `<rect x="${x(r)}" y="${y.toFixed(1)}" width="2" height="${
      h.toFixed(1)
    }" fill="${colour}"/>`;
  };
  const marks = runs.map((r) => {
    const title = `${formatTime(Date.parse(r.end))}: ${r.result}, ${formatBytes(r.bytes)} added, ${
      formatDuration(duration(r))
    }`;
    return `<g><title>${esc(title)}</title>${bar(0, 1, r, COLOURS[r.result] ?? "#777")}${
      bar(1, r.bytes / maxBytes, r, "#1565c0")
    }${bar(2, duration(r) / maxDuration, r, "#6a1b9a")}</g>`;
  });
  const height = 3 * LANE + 2 * GAP;
  const label = `${runs.length} runs in 5 weeks; most bytes added ${
    formatBytes(maxBytes)
  }; longest ${formatDuration(maxDuration)}`;
  // Week lines, so a gap in the runs reads as a gap in time.
  const weeks = [1, 2, 3, 4].map((w) => {
    const wx = (w / 5 * (W - 2)).toFixed(1);
    return `<line x1="${wx}" y1="0" x2="${wx}" y2="${height}" stroke="#ddd" stroke-width="1"/>`;
  });
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" ` +
    `viewBox="0 0 ${W} ${height}" role="img" aria-label="${esc(label)}"><title>${
      esc(label)
    }</title>${weeks.join("")}${marks.join("")}</svg>`;
}
