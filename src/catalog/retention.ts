/**
 * Retention policies with restic's `forget` semantics.
 *
 * Snapshots are considered newest first. `last` keeps the newest n; the
 * calendar rules (`hourly` … `yearly`) keep the newest snapshot of each of the
 * newest n distinct hours/days/ISO weeks/months/years that have a snapshot; if
 * a calendar rule still has counts left when the oldest snapshot is reached,
 * that oldest snapshot is kept as well ("oldest daily snapshot"), which makes
 * the kept history as long as the policy allows. `within` keeps everything
 * newer than the newest snapshot minus the duration, `within_<period>` keeps
 * the newest of each period inside such a window, and `tags` keeps every
 * snapshot carrying one of the listed tag sets. A snapshot kept by any rule is
 * kept, with every matching rule listed as a reason. Calendar periods use the
 * local time zone of the process.
 *
 * @module
 */

// A local copy of the job package's formatter: catalog must not depend on job.
function formatDuration(ms: number): string {
  let rest = Math.round(ms);
  let out = "";
  for (
    const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], [
      "s",
      1_000,
    ]] as const
  ) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out || `${rest}ms`;
}

/** One snapshot as retention sees it. */
export interface RetentionInput {
  id: string;
  time: Date;
  host: string;
  paths: string[];
  tags: string[];
  job?: string;
}

/**
 * What to keep. Counts are non-negative integers, or -1 for "unlimited"
 * (restic's convention); durations are milliseconds. Each `tags` entry is a
 * comma-separated tag set a snapshot must fully carry (`"daily,db"`); the empty
 * string matches untagged snapshots.
 */
export interface KeepPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: number;
  withinHourly?: number;
  withinDaily?: number;
  withinWeekly?: number;
  withinMonthly?: number;
  withinYearly?: number;
  tags?: string[];
}

/** A kept snapshot and every rule that kept it. */
export interface KeptSnapshot {
  snapshot: RetentionInput;
  reasons: string[];
}

/** The outcome for one group: both lists newest first. */
export interface RetentionResult {
  keep: KeptSnapshot[];
  remove: RetentionInput[];
}

/** Options for {@linkcode applyRetention}. */
export interface RetentionOptions {
  /** "Now", for ignoring future snapshots in `within*` rules; defaults to the current time. */
  now?: Date;
  /**
   * Let the policy remove every snapshot of the group (restic's
   * `--unsafe-allow-remove-all`): an empty policy then removes them all.
   */
  allowRemoveAll?: boolean;
}

/** Thrown when applying a policy would be unsafe (empty policy, or removing a whole group). */
export class RetentionError extends Error {
  override name = "RetentionError";
}

type Bucket = (d: Date, nr: number) => number;

const always: Bucket = (_d, nr) => nr;
const hour: Bucket = (d) =>
  d.getFullYear() * 1_000_000 + (d.getMonth() + 1) * 10_000 + d.getDate() * 100 + d.getHours();
const day: Bucket = (d) => d.getFullYear() * 10_000 + (d.getMonth() + 1) * 100 + d.getDate();
const week: Bucket = (d) => {
  const { year, week } = isoWeek(d);
  return year * 100 + week;
};
const month: Bucket = (d) => d.getFullYear() * 100 + (d.getMonth() + 1);
const year: Bucket = (d) => d.getFullYear();

/** ISO 8601 week (weeks start on Monday; week 1 holds the year's first Thursday) of a local date. */
export function isoWeek(d: Date): { year: number; week: number } {
  const t = Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
  const weekday = (new Date(t).getUTCDay() + 6) % 7; // Monday = 0
  const thursday = new Date(t + (3 - weekday) * 86_400_000);
  const y = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(y, 0, 1)) / (7 * 86_400_000));
  return { year: y, week };
}

function count(n: number | undefined): number {
  return n === undefined ? 0 : n;
}

/** True when the policy keeps nothing at all (so applying it would remove everything). */
export function isEmptyPolicy(policy: KeepPolicy): boolean {
  const counts = [policy.last, policy.hourly, policy.daily, policy.weekly, policy.monthly];
  const durations = [
    policy.within,
    policy.withinHourly,
    policy.withinDaily,
    policy.withinWeekly,
    policy.withinMonthly,
    policy.withinYearly,
  ];
  return [...counts, policy.yearly].every((n) => count(n) === 0) &&
    durations.every((d) => !d) && (policy.tags ?? []).length === 0;
}

/** A one-line description of the policy, e.g. `keep 3 latest, 7 daily snapshots`. */
export function describePolicy(policy: KeepPolicy): string {
  const parts: string[] = [];
  for (
    const [n, label] of [
      [policy.last, "latest"],
      [policy.hourly, "hourly"],
      [policy.daily, "daily"],
      [policy.weekly, "weekly"],
      [policy.monthly, "monthly"],
      [policy.yearly, "yearly"],
    ] as const
  ) {
    if (n === -1) parts.push(`all ${label}`);
    else if (n) parts.push(`${n} ${label}`);
  }
  let s = parts.length ? `${parts.join(", ")} snapshots` : "";
  const within: string[] = [];
  for (
    const [d, label] of [
      [policy.withinHourly, "hourly"],
      [policy.withinDaily, "daily"],
      [policy.withinWeekly, "weekly"],
      [policy.withinMonthly, "monthly"],
      [policy.withinYearly, "yearly"],
    ] as const
  ) {
    if (d) within.push(`${label} snapshots within ${formatDuration(d)}`);
  }
  if (within.length) s += (s ? ", " : "") + within.join(", ");
  if (policy.tags?.length) {
    s += (s ? " and " : "") +
      `all snapshots with tags ${policy.tags.map((t) => `[${t}]`).join(" ")}`;
  }
  if (policy.within) {
    s += (s ? " and " : "") + `all snapshots within ${formatDuration(policy.within)} of the newest`;
  }
  return `keep ${s}`;
}

/** True when `snapshot` carries every tag of `tagSet` (comma-separated; "" = untagged). */
export function hasTagSet(snapshot: { tags: string[] }, tagSet: string): boolean {
  const wanted = tagSet.split(",").map((t) => t.trim()).filter((t) => t !== "");
  if (wanted.length === 0) return snapshot.tags.length === 0;
  return wanted.every((t) => snapshot.tags.includes(t));
}

/**
 * Decides which snapshots of ONE group to keep and which to remove (group
 * first with `groupSnapshots`). Both lists come back newest first.
 *
 * @throws {RetentionError} for an empty policy (restic refuses too: an empty
 * policy removing everything is always a mistake) and when the policy would
 * remove every snapshot of a non-empty group, unless `allowRemoveAll`.
 */
export function applyRetention(
  snapshots: readonly RetentionInput[],
  policy: KeepPolicy,
  options: RetentionOptions = {},
): RetentionResult {
  if (isEmptyPolicy(policy) && !options.allowRemoveAll) {
    throw new RetentionError(
      "Refusing to apply an empty retention policy: it would remove every snapshot",
    );
  }
  for (const [k, v] of Object.entries(policy)) {
    if (typeof v === "number" && (!Number.isInteger(v) || v < -1)) {
      throw new RangeError(
        `Invalid retention policy: "${k}" must be a non-negative integer or -1, got ${v}`,
      );
    }
  }
  // Newest first; stable so equal times keep their input order, as restic's sort.Stable does.
  const list = snapshots.map((s, i) => ({ s, i }))
    .sort((a, b) => b.s.time.getTime() - a.s.time.getTime() || a.i - b.i)
    .map((x) => x.s);
  if (list.length === 0) return { keep: [], remove: [] };

  const buckets = [
    { left: count(policy.last), bucket: always, last: NaN, reason: "last snapshot" },
    { left: count(policy.hourly), bucket: hour, last: NaN, reason: "hourly snapshot" },
    { left: count(policy.daily), bucket: day, last: NaN, reason: "daily snapshot" },
    { left: count(policy.weekly), bucket: week, last: NaN, reason: "weekly snapshot" },
    { left: count(policy.monthly), bucket: month, last: NaN, reason: "monthly snapshot" },
    { left: count(policy.yearly), bucket: year, last: NaN, reason: "yearly snapshot" },
  ];
  const withinBuckets = [
    { within: policy.withinHourly, bucket: hour, last: NaN, reason: "hourly within" },
    { within: policy.withinDaily, bucket: day, last: NaN, reason: "daily within" },
    { within: policy.withinWeekly, bucket: week, last: NaN, reason: "weekly within" },
    { within: policy.withinMonthly, bucket: month, last: NaN, reason: "monthly within" },
    { within: policy.withinYearly, bucket: year, last: NaN, reason: "yearly within" },
  ];

  // "Within" is relative to the newest snapshot that is not in the future, so a
  // clock-skewed snapshot cannot push every real one out of the window.
  const now = (options.now ?? new Date()).getTime();
  let latest = -Infinity;
  for (const s of list) {
    const t = s.time.getTime();
    if (t > latest && t < now) latest = t;
  }

  const keep: KeptSnapshot[] = [];
  const remove: RetentionInput[] = [];
  list.forEach((cur, nr) => {
    const reasons: string[] = [];
    const t = cur.time.getTime();
    for (const tagSet of policy.tags ?? []) {
      if (hasTagSet(cur, tagSet)) reasons.push(`has tags [${tagSet}]`);
    }
    if (policy.within && t > latest - policy.within) {
      reasons.push(`within ${formatDuration(policy.within)}`);
    }
    const isOldest = nr === list.length - 1;
    for (const b of buckets) {
      if (b.left > 0 || b.left === -1) {
        const val = b.bucket(cur.time, nr);
        // Also keep the oldest snapshot while counts are left: that maximises history kept.
        if (val !== b.last || isOldest) {
          reasons.push(val === b.last ? `oldest ${b.reason}` : b.reason);
          b.last = val;
          if (b.left > 0) b.left--;
        }
      }
    }
    for (const b of withinBuckets) {
      if (b.within && t > latest - b.within) {
        const val = b.bucket(cur.time, nr);
        if (val !== b.last) {
          reasons.push(`${b.reason} ${formatDuration(b.within)}`);
          b.last = val;
        }
      }
    }
    if (reasons.length) keep.push({ snapshot: cur, reasons });
    else remove.push(cur);
  });

  if (keep.length === 0 && !options.allowRemoveAll) {
    throw new RetentionError(
      `Refusing to remove all ${list.length} snapshots of a group: no snapshot matches the policy (${
        describePolicy(policy)
      })`,
    );
  }
  return { keep, remove };
}
