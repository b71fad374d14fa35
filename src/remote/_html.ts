/**
 * Escaping for the pages of `cairn serve`. Host names, job names and error
 * texts come from agents and are hostile input: everything interpolated into
 * HTML goes through {@link esc}, in text and in quoted attributes alike.
 *
 * @module
 */

import { escapeHtml } from "../text/mod.ts";

/** Escapes text for an HTML text node or a double- or single-quoted attribute. */
export function esc(value: string | number): string {
  return escapeHtml(String(value));
}

/** `1.5 MiB`: bytes in powers of 1024. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `2026-03-10 12:00 UTC`. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC");
}
