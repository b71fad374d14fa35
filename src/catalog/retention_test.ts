import assert from "node:assert/strict";
import {
  applyRetention,
  describePolicy,
  isoWeek,
  type KeepPolicy,
  RetentionError,
  type RetentionInput,
} from "./retention.ts";
import { filterSnapshots, groupSnapshots } from "./retention_group.ts";

// Local-time constructors keep the tests independent of the machine's zone,
// since retention periods are local-time periods.
function snap(
  id: string,
  y: number,
  mo: number,
  d: number,
  h = 11,
  mi = 0,
  extra: Partial<RetentionInput> = {},
): RetentionInput {
  return {
    id,
    time: new Date(y, mo - 1, d, h, mi),
    host: "mopped",
    paths: ["/home/user/work"],
    tags: [],
    ...extra,
  };
}

// The 12 Sundays from restic's "Removing snapshots according to a policy" documentation.
const SUNDAYS = [
  snap("0a1f9759", 2019, 9, 1),
  snap("46cfe4d5", 2019, 9, 8),
  snap("f6b1f037", 2019, 9, 15),
  snap("eb430a5d", 2019, 9, 22),
  snap("8cf1cb9a", 2019, 9, 29),
  snap("5d33b116", 2019, 10, 6),
  snap("b9553125", 2019, 10, 13),
  snap("e1a7b58b", 2019, 10, 20),
  snap("8f8018c0", 2019, 10, 27),
  snap("59403279", 2019, 11, 3),
  snap("dfee9fb4", 2019, 11, 10),
  snap("e1ae2f40", 2019, 11, 17),
];
const NOW = { now: new Date(2020, 0, 1) };

function kept(snapshots: RetentionInput[], policy: KeepPolicy) {
  return applyRetention(snapshots, policy, NOW).keep.map((
    k,
  ) => [k.snapshot.id, k.reasons.join(", ")]);
}

Deno.test("applyRetention() with keep-daily 4 keeps the last four Sundays, as restic's docs show", () => {
  const result = applyRetention(SUNDAYS, { daily: 4 }, NOW);
  assert.deepEqual(result.keep.map((k) => [k.snapshot.id, k.reasons]), [
    ["e1ae2f40", ["daily snapshot"]],
    ["dfee9fb4", ["daily snapshot"]],
    ["59403279", ["daily snapshot"]],
    ["8f8018c0", ["daily snapshot"]],
  ]);
  assert.deepEqual(result.remove.map((s) => s.id), [
    "e1a7b58b",
    "b9553125",
    "5d33b116",
    "8cf1cb9a",
    "eb430a5d",
    "f6b1f037",
    "46cfe4d5",
    "0a1f9759",
  ]);
});

Deno.test("applyRetention() with keep-last 3 keeps the three newest", () => {
  assert.deepEqual(kept(SUNDAYS, { last: 3 }), [
    ["e1ae2f40", "last snapshot"],
    ["dfee9fb4", "last snapshot"],
    ["59403279", "last snapshot"],
  ]);
});

Deno.test("applyRetention() with keep-weekly 2 keeps the newest snapshot of the two newest weeks", () => {
  const week = [
    snap("mon", 2019, 11, 11),
    snap("wed", 2019, 11, 13),
    snap("sun", 2019, 11, 17),
    ...SUNDAYS.slice(0, 11),
  ];
  assert.deepEqual(kept(week, { weekly: 2 }), [
    ["sun", "weekly snapshot"],
    ["dfee9fb4", "weekly snapshot"],
  ]);
});

Deno.test("applyRetention() keeps the oldest snapshot as well while a calendar rule has counts left", () => {
  assert.deepEqual(kept(SUNDAYS, { monthly: 6 }), [
    ["e1ae2f40", "monthly snapshot"],
    ["8f8018c0", "monthly snapshot"],
    ["8cf1cb9a", "monthly snapshot"],
    ["0a1f9759", "oldest monthly snapshot"],
  ]);
  const sameDay = [snap("a", 2019, 11, 17, 9), snap("b", 2019, 11, 17, 10)];
  assert.deepEqual(kept(sameDay, { daily: 5 }), [["b", "daily snapshot"], [
    "a",
    "oldest daily snapshot",
  ]]);
});

Deno.test("applyRetention() keep-within counts back from the newest snapshot, not from now", () => {
  // 11-17 11:00 minus 14 days is exactly 11-03 11:00, which is not strictly within.
  assert.deepEqual(kept(SUNDAYS, { within: 14 * 86_400_000 }), [
    ["e1ae2f40", "within 14d"],
    ["dfee9fb4", "within 14d"],
  ]);
});

Deno.test("applyRetention() keep-within ignores snapshots from the future when finding the newest", () => {
  const list = [...SUNDAYS, snap("future", 2031, 1, 1)];
  const keep = applyRetention(list, { within: 8 * 86_400_000 }, NOW).keep.map((k) => k.snapshot.id);
  assert.deepEqual(keep, ["future", "e1ae2f40", "dfee9fb4"]);
});

Deno.test("applyRetention() keep-within-daily keeps one per day inside the window", () => {
  const list = [
    snap("a", 2019, 11, 17, 9),
    snap("b", 2019, 11, 17, 10),
    snap("c", 2019, 11, 16, 9),
    snap("d", 2019, 11, 1),
  ];
  assert.deepEqual(kept(list, { withinDaily: 7 * 86_400_000 }), [["b", "daily within 7d"], [
    "c",
    "daily within 7d",
  ]]);
});

Deno.test("applyRetention() lists every rule that keeps a snapshot", () => {
  assert.deepEqual(kept(SUNDAYS, { last: 1, daily: 2, weekly: 1, monthly: 1, yearly: 1 })[0], [
    "e1ae2f40",
    "last snapshot, daily snapshot, weekly snapshot, monthly snapshot, yearly snapshot",
  ]);
});

Deno.test("applyRetention() keeps tagged snapshots by tag set, with '' meaning untagged", () => {
  const list = [
    snap("db", 2019, 11, 3, 11, 0, { tags: ["db", "daily"] }),
    snap("dbonly", 2019, 11, 4, 11, 0, { tags: ["db"] }),
    snap("plain", 2019, 11, 5),
  ];
  assert.deepEqual(kept(list, { tags: ["daily,db"] }), [["db", "has tags [daily,db]"]]);
  assert.deepEqual(kept(list, { tags: [""] }), [["plain", "has tags []"]]);
  assert.throws(() => applyRetention(list, { tags: ["nope"] }, NOW), RetentionError);
});

Deno.test("applyRetention() refuses an empty policy instead of removing everything", () => {
  assert.throws(() => applyRetention(SUNDAYS, {}), RetentionError);
  assert.throws(() => applyRetention(SUNDAYS, { last: 0, daily: 0, tags: [] }), RetentionError);
  assert.throws(() => applyRetention(SUNDAYS, { last: 1.5 }), RangeError);
});

Deno.test("applyRetention() with allowRemoveAll may empty a group, and an empty policy removes all", () => {
  const list = [snap("a", 2019, 11, 3), snap("b", 2019, 11, 4, 11, 0, { tags: ["x"] })];
  const none = applyRetention(list, { tags: ["nope"] }, { ...NOW, allowRemoveAll: true });
  assert.deepEqual([none.keep.length, none.remove.map((s) => s.id)], [0, ["b", "a"]]);
  const all = applyRetention(list, {}, { allowRemoveAll: true });
  assert.deepEqual(all.remove.map((s) => s.id), ["b", "a"]);
  const some = applyRetention(list, { tags: ["x"] }, { ...NOW, allowRemoveAll: true });
  assert.deepEqual(some.keep.map((k) => k.snapshot.id), ["b"]);
});

Deno.test("applyRetention() keeps one per calendar period for 100 years of daily backups, as restic's docs describe", () => {
  const list: RetentionInput[] = [];
  for (
    let d = new Date(1920, 0, 1, 12);
    d < new Date(2019, 11, 30);
    // ends on Sunday 2019-12-29
    d = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1, 12)
  ) {
    list.push({ id: d.toISOString(), time: d, host: "h", paths: ["/"], tags: [] });
  }
  const { keep, remove } = applyRetention(
    list,
    { daily: 7, weekly: 5, monthly: 12, yearly: 75 },
    NOW,
  );
  const only = (r: string) =>
    keep.filter((k) => k.reasons.length === 1 && k.reasons[0] === r).length;
  const withReason = (r: string) => keep.filter((k) => k.reasons.includes(r)).length;
  assert.equal(withReason("daily snapshot"), 7);
  assert.equal(withReason("weekly snapshot"), 5);
  assert.equal(only("weekly snapshot"), 4); // "the 7 dailies already include 1 weekly"
  assert.ok([11, 12].includes(only("monthly snapshot")));
  assert.ok([74, 75].includes(only("yearly snapshot")));
  assert.equal(keep.length + remove.length, list.length);
  assert.equal(keep.length, 7 + 4 + only("monthly snapshot") + only("yearly snapshot"));
});

Deno.test("applyRetention() keeps input order for snapshots with equal times", () => {
  const list = [snap("x", 2019, 1, 1), snap("y", 2019, 1, 1)];
  assert.deepEqual(kept(list, { last: 1 }), [["x", "last snapshot"]]);
});

Deno.test("isoWeek() follows ISO 8601 across year ends", () => {
  assert.deepEqual(isoWeek(new Date(2019, 11, 29)), { year: 2019, week: 52 }); // Sunday
  assert.deepEqual(isoWeek(new Date(2019, 11, 30)), { year: 2020, week: 1 }); // Monday
  assert.deepEqual(isoWeek(new Date(2021, 0, 3)), { year: 2020, week: 53 });
  assert.deepEqual(isoWeek(new Date(2021, 0, 4)), { year: 2021, week: 1 });
});

Deno.test("applyRetention() puts Monday 2019-12-30 and Wednesday 2020-01-01 in one week", () => {
  const list = [snap("sun", 2019, 12, 29), snap("mon", 2019, 12, 30), snap("wed", 2020, 1, 1)];
  assert.deepEqual(kept(list, { weekly: 2 }), [["wed", "weekly snapshot"], [
    "sun",
    "weekly snapshot",
  ]]);
});

Deno.test("describePolicy() reads like restic's summary", () => {
  assert.equal(describePolicy({ last: 3, daily: 7 }), "keep 3 latest, 7 daily snapshots");
  assert.equal(
    describePolicy({ within: 86_400_000, tags: ["a"] }),
    "keep all snapshots with tags [a] and all snapshots within 1d of the newest",
  );
});

Deno.test("groupSnapshots() groups by host, paths (as a set) and job by default", () => {
  const list = [
    snap("1", 2019, 1, 1, 1, 0, { host: "a", paths: ["/x", "/y"], job: "j" }),
    snap("2", 2019, 1, 2, 1, 0, { host: "a", paths: ["/y", "/x"], job: "j" }),
    snap("3", 2019, 1, 3, 1, 0, { host: "b", paths: ["/x", "/y"], job: "j" }),
    snap("4", 2019, 1, 4, 1, 0, { host: "a", paths: ["/x", "/y"], job: "k" }),
  ];
  const groups = groupSnapshots(list);
  assert.deepEqual(groups.map((g) => [g.host, g.paths, g.job, g.snapshots.map((s) => s.id)]), [
    ["a", ["/x", "/y"], "j", ["1", "2"]],
    ["a", ["/x", "/y"], "k", ["4"]],
    ["b", ["/x", "/y"], "j", ["3"]],
  ]);
  assert.equal(groupSnapshots(list, []).length, 1);
  assert.equal(groupSnapshots(list, ["host"]).length, 2);
});

Deno.test("filterSnapshots() selects by host and tag sets like forget --host/--tag", () => {
  const list = [
    snap("1", 2019, 1, 1, 1, 0, { host: "a", tags: ["x", "y"] }),
    snap("2", 2019, 1, 2, 1, 0, { host: "b", tags: ["x"] }),
    snap("3", 2019, 1, 3, 1, 0, { host: "a" }),
  ];
  const ids = (f: Parameters<typeof filterSnapshots>[1]) =>
    filterSnapshots(list, f).map((s) => s.id);
  assert.deepEqual(ids({ hosts: ["a"] }), ["1", "3"]);
  assert.deepEqual(ids({ tags: ["x,y"] }), ["1"]);
  assert.deepEqual(ids({ tags: ["y", ""] }), ["1", "3"]);
  assert.deepEqual(ids({}), ["1", "2", "3"]);
});
