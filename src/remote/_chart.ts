/**
 * The small history chart of a dashboard row, drawn on the server as inline
 * SVG: over the last five weeks, one column a day: the runs (coloured by
 * the worst result), the bytes added and the longest run, as bars scaled to
 * the largest in view. No script, no external file; every text is escaped.
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
  failed: "#c62828",
};

const DAYS = CHART_SPAN_MS / 86400_000;
const RANK: Record<string, number> = { success: 0, partial: 1, failed: 2 };

interface Day {
  runs: number;
  failures: number;
  worst: string;
  bytes: number;
  longest: number;
}

/**
 * The SVG for `history` as seen at `now`: one column a day, so a row stays
 * small however often its job runs (a column's title tells that day's runs).
 */
export function historyChart(history: readonly ReceivedReport[], now: number): string {
  const from = now - CHART_SPAN_MS;
  const days: (Day | undefined)[] = new Array(DAYS);
  for (let i = history.length - 1; i >= 0; i--) {
    const r = history[i];
    const end = Date.parse(r.end);
    if (end < from) break; // sorted by end: the rest is older
    if (end > now) continue;
    const k = Math.min(DAYS - 1, Math.floor((end - from) / 86400_000));
    const d = days[k] ??= { runs: 0, failures: 0, worst: "success", bytes: 0, longest: 0 };
    d.runs++;
    if (r.result !== "success") d.failures++;
    if ((RANK[r.result] ?? 2) > (RANK[d.worst] ?? 2)) d.worst = r.result;
    d.bytes += r.bytes;
    d.longest = Math.max(d.longest, Date.parse(r.end) - Date.parse(r.start));
  }
  const used = days.flatMap((d, k) => d ? [{ d, k }] : []);
  const maxRuns = Math.max(1, ...used.map(({ d }) => d.runs));
  const maxBytes = Math.max(1, ...used.map(({ d }) => d.bytes));
  const maxDuration = Math.max(1, ...used.map(({ d }) => d.longest));
  const col = W / DAYS;
  const bar = (lane: number, fraction: number, k: number, colour: string) => {
    const h = Math.max(1, fraction * LANE);
    const y = lane * (LANE + GAP) + LANE - h;
    return `<rect x="${(k * col).toFixed(1)}" y="${y.toFixed(1)}" width="${
      (col - 1).toFixed(1)
    }" height="${h.toFixed(1)}" fill="${colour}"/>`;
  };
  const marks = used.map(({ d, k }) => {
    const day = formatTime(from + k * 86400_000).slice(0, 10);
    const title = `${day}: ${d.runs} run${d.runs === 1 ? "" : "s"}${
      d.failures ? ` (${d.failures} not successful)` : ""
    }, ${formatBytes(d.bytes)} added, longest ${formatDuration(d.longest)}`;
    return `<g><title>${esc(title)}</title>${
      bar(0, d.runs / maxRuns, k, COLOURS[d.worst] ?? "#777")
    }${bar(1, d.bytes / maxBytes, k, "#1565c0")}${
      bar(2, d.longest / maxDuration, k, "#6a1b9a")
    }</g>`;
  });
  const runs = used.reduce((n, { d }) => n + d.runs, 0);
  const height = 3 * LANE + 2 * GAP;
  const label = `${runs} runs in 5 weeks; most bytes added in a day ${
    formatBytes(maxBytes)
  }; longest run ${formatDuration(maxDuration)}`;
  // Week lines, so a gap in the runs reads as a gap in time.
  const weeks = [1, 2, 3, 4].map((w) => {
    const wx = (w * 7 * col - 0.5).toFixed(1);
    return `<line x1="${wx}" y1="0" x2="${wx}" y2="${height}" stroke="#ddd" stroke-width="1"/>`;
  });
  return `<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" ` +
    `viewBox="0 0 ${W} ${height}" role="img" aria-label="${esc(label)}"><title>${
      esc(label)
    }</title>${weeks.join("")}${marks.join("")}</svg>`;
}
