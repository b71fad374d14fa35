/**
 * `keep = { … }` tables: retention policies in job files.
 *
 * @module
 */

import { isEmptyPolicy, type KeepPolicy } from "../catalog/retention.ts";
import { parseDuration } from "./duration.ts";
import type { Reader } from "./_reader.ts";

const COUNTS = ["last", "hourly", "daily", "weekly", "monthly", "yearly"] as const;
const WITHINS = {
  within: "within",
  within_hourly: "withinHourly",
  within_daily: "withinDaily",
  within_weekly: "withinWeekly",
  within_monthly: "withinMonthly",
  within_yearly: "withinYearly",
} as const;

/** Every key a keep table may have. */
export const KEEP_KEYS: readonly string[] = [...COUNTS, ...Object.keys(WITHINS), "tags"];

/** Reads a keep table; an empty policy is an error because it would remove every snapshot. */
export function parseKeep(r: Reader): KeepPolicy {
  r.onlyKeys(KEEP_KEYS);
  const policy: KeepPolicy = {};
  for (const k of COUNTS) {
    const n = r.integer(k, { min: 0 });
    if (n !== undefined) policy[k] = n;
  }
  for (const [key, field] of Object.entries(WITHINS)) {
    const s = r.string(key);
    if (s !== undefined) {
      const ms = r.convert(key, s, parseDuration);
      if (ms <= 0) r.fail([key], "must be longer than 0");
      policy[field] = ms;
    }
  }
  const tags = r.strings("tags", { allowEmptyItems: true }); // "" = untagged, as in restic
  if (tags !== undefined) policy.tags = tags;
  if (isEmptyPolicy(policy)) {
    r.fail([], "keep policy keeps nothing; set at least one of " + KEEP_KEYS.join(", "));
  }
  return policy;
}
