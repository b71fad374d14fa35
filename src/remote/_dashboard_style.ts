/**
 * The one stylesheet of `cairn serve`'s pages, inlined in each page and
 * allowed by its hash in the Content-Security-Policy, so no file is fetched
 * and no other style can apply.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The stylesheet text, exactly as it goes between `<style>` and `</style>`. */
export const STYLE = `
:root { color-scheme: light; font-family: system-ui, sans-serif; font-size: 14px; color: #222; }
body { margin: 1.5rem; background: #fafafa; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
p.summary { color: #555; margin: 0 0 1rem; }
table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px #0002; }
th, td { padding: .35rem .6rem; border-bottom: 1px solid #e4e4e4; text-align: left;
  vertical-align: middle; }
th { background: #f0f0f0; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
time { white-space: nowrap; }
tr.stale td { background: #fff3f3; }
tr.stale td.host { border-left: 4px solid #c62828; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .6rem; font-size: .8rem;
  font-weight: 600; }
.badge.stale { background: #c62828; color: #fff; }
.result-success { color: #2e7d32; font-weight: 600; }
.result-partial { color: #ef6c00; font-weight: 600; }
.result-failed { color: #c62828; font-weight: 600; }
.why { color: #c62828; font-size: .85rem; margin-top: .2rem; }
.muted { color: #888; }
pre.error { white-space: pre-wrap; margin: 0; font-size: .85rem; max-width: 60rem; }
a { color: #1565c0; }
svg.chart { display: block; }
`;

/** The CSP source that allows exactly {@link STYLE}. */
export const STYLE_HASH = `'sha256-${createHash("sha256").update(STYLE).digest("base64")}'`;
