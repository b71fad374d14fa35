/**
 * The HTML pages of `cairn serve`: the fleet dashboard (`GET /`) and a page
 * per host (`GET /host/NAME`). Plain server-rendered HTML with one inline
 * stylesheet and inline SVG charts; no script at all, so the strict
 * Content-Security-Policy in `serve.ts` holds. Pages refresh themselves with
 * `<meta http-equiv="refresh">`. Every value from agents goes through `esc`.
 *
 * @module
 */

import { historyChart } from "./_chart.ts";
import { STYLE } from "./_dashboard_style.ts";
import { formatDuration, type HostView, type JobView } from "./_fleet_view.ts";
import { esc, formatBytes, formatTime } from "./_html.ts";
import type { ReceivedReport } from "./serve.ts";

/** Settings shared by the pages. */
export interface PageOptions {
  /** Seconds between refreshes. */
  refreshSeconds: number;
  now: number;
}

/** Where a host's page is. */
export function hostPath(host: string): string {
  return `/host/${encodeURIComponent(host)}`;
}

function page(title: string, body: string, o: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${o.refreshSeconds}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function ago(ms: number | undefined, now: number): string {
  if (ms === undefined) return `<span class="muted">unknown</span>`;
  const d = now - ms;
  const rel = d >= 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
  return `<time datetime="${esc(new Date(ms).toISOString())}" title="${esc(formatTime(ms))}">${
    esc(rel)
  }</time>`;
}

function result(r: ReceivedReport | undefined): string {
  if (!r) return `<span class="muted">no report</span>`;
  return `<span class="result-${esc(r.result)}">${esc(r.result)}</span>`;
}

function duration(r: ReceivedReport): number {
  return Math.max(0, Date.parse(r.end) - Date.parse(r.start));
}

function nextRun(j: JobView, now: number): string {
  if (j.running) return "running now";
  if (j.schedule === null) return `<span class="muted">not scheduled</span>`;
  return ago(j.nextRun, now);
}

function jobRow(h: HostView, j: JobView | undefined, first: boolean, now: number): string {
  const stale = h.stale.length > 0;
  const hostCell = first
    ? `<a href="${esc(hostPath(h.host))}">${esc(h.host)}</a>${
      stale ? ` <span class="badge stale">stale</span>` : ""
    }${h.stale.map((w) => `<div class="why">${esc(w)}</div>`).join("")}`
    : "";
  const cells = j
    ? [
      `<td class="job">${esc(j.job)}</td>`,
      `<td>${result(j.last)}</td>`,
      `<td>${ago(j.last && Date.parse(j.last.end), now)}</td>`,
      `<td>${nextRun(j, now)}</td>`,
      `<td class="num">${j.last ? esc(formatDuration(duration(j.last))) : ""}</td>`,
      `<td class="num">${j.last ? esc(formatBytes(j.last.bytes)) : ""}</td>`,
      `<td>${historyChart(j.history, now)}</td>`,
    ]
    : [`<td class="muted" colspan="7">no jobs reported yet</td>`];
  return `<tr${stale ? ` class="stale"` : ""} data-host="${esc(h.host)}"${
    j ? ` data-job="${esc(j.job)}"` : ""
  }><td class="host">${hostCell}</td>${cells.join("")}</tr>`;
}

/** `GET /`: one row per host and job, stale hosts first. */
export function renderDashboard(hosts: readonly HostView[], o: PageOptions): string {
  const stale = hosts.filter((h) => h.stale.length > 0).length;
  const rows = hosts.flatMap((h) =>
    h.jobs.length === 0
      ? [jobRow(h, undefined, true, o.now)]
      : h.jobs.map((j, i) => jobRow(h, j, i === 0, o.now))
  );
  const body = `<h1>cairn fleet</h1>
<p class="summary">${hosts.length} host${
    hosts.length === 1 ? "" : "s"
  }, <span id="stale-count">${stale}</span> stale · updated ${
    esc(formatTime(o.now))
  } · refreshes every ${o.refreshSeconds} s · <a href="/metrics">metrics</a></p>
<table class="fleet">
<thead><tr><th>host</th><th>job</th><th>last result</th><th>ran</th><th>next run</th><th>duration</th><th>bytes added</th><th>history, 5 weeks (runs, bytes, duration)</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>`;
  return page("cairn fleet", body, o);
}

/** `GET /host/NAME`: the host's jobs, its recent reports and its errors. */
export function renderHostPage(h: HostView, o: PageOptions): string {
  const reports = h.jobs.flatMap((j) => j.history)
    .sort((a, b) => Date.parse(b.end) - Date.parse(a.end));
  const errors = reports.filter((r) => r.error !== null).slice(0, 50);
  const jobs = h.jobs.map((j) =>
    `<tr${j.stale ? ` class="stale"` : ""}><td>${esc(j.job)}</td><td>${
      j.schedule === undefined
        ? `<span class="muted">unknown</span>`
        : j.schedule === null
        ? `<span class="muted">none</span>`
        : `<code>${esc(j.schedule)}</code>`
    }</td><td>${nextRun(j, o.now)}</td><td>${result(j.last)}</td><td>${
      j.lastSuccess
        ? ago(Date.parse(j.lastSuccess.end), o.now)
        : `<span class="muted">${j.last ? "none reported" : "unknown"}</span>`
    }</td><td>${j.stale ? `<span class="why">${esc(j.stale)}</span>` : ""}</td></tr>`
  );
  const reportRows = reports.slice(0, 100).map((r) =>
    `<tr><td>${esc(formatTime(Date.parse(r.end)))}</td><td>${esc(r.job)}</td><td>${
      result(r)
    }</td><td class="num">${esc(formatDuration(duration(r)))}</td><td class="num">${
      esc(r.files)
    }</td><td class="num">${esc(formatBytes(r.bytes))}</td><td><code>${
      esc((r.snapshot ?? "").slice(0, 8))
    }</code></td></tr>`
  );
  const errorRows = errors.map((r) =>
    `<tr><td>${esc(formatTime(Date.parse(r.end)))}</td><td>${esc(r.job)}</td><td>${
      result(r)
    }</td><td><pre class="error">${esc(r.error ?? "")}</pre></td></tr>`
  );
  const poll = h.pollSeconds === undefined
    ? "poll interval unknown (no heartbeat)"
    : `polls every ${esc(formatDuration(h.pollSeconds * 1000))}`;
  const body = `<p><a href="/">← fleet</a></p>
<h1>${esc(h.host)}${h.stale.length ? ` <span class="badge stale">stale</span>` : ""}</h1>
<p class="summary">last poll ${ago(h.lastPoll, o.now)} · ${poll}</p>
${h.stale.map((w) => `<div class="why">${esc(w)}</div>`).join("\n")}
<h2>Jobs</h2>
<table><thead><tr><th>job</th><th>schedule</th><th>next run</th><th>last result</th><th>last success</th><th></th></tr></thead>
<tbody>${jobs.join("\n")}</tbody></table>
<h2>Errors</h2>
${
    errorRows.length
      ? `<table><thead><tr><th>ended</th><th>job</th><th>result</th><th>error</th></tr></thead><tbody>${
        errorRows.join("\n")
      }</tbody></table>`
      : `<p class="muted">none in the reports kept</p>`
  }
<h2>Reports</h2>
<table><thead><tr><th>ended</th><th>job</th><th>result</th><th>duration</th><th>files</th><th>bytes added</th><th>snapshot</th></tr></thead>
<tbody>${reportRows.join("\n")}</tbody></table>`;
  return page(`cairn: ${h.host}`, body, o);
}
