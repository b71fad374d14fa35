import assert from "node:assert/strict";
import type { SnapshotWithId } from "../repo/mod.ts";
import { groupLabel, planForget, removedIds } from "./forget_plan.ts";
import { RetentionError } from "./retention.ts";

function snap(id: string, day: number, host: string, job?: string): SnapshotWithId {
  const s: SnapshotWithId = {
    id: id.padEnd(64, "0"),
    time: new Date(2026, 10, day, 12).toISOString(),
    tree: "f".repeat(64),
    paths: ["/srv"],
    host,
    username: "root",
    tags: [],
    program_version: "test",
  };
  if (job !== undefined) s.job = job;
  return s;
}

const all = [
  snap("a1", 1, "a", "web"),
  snap("a2", 2, "a", "web"),
  snap("a3", 3, "a", "web"),
  snap("a4", 3, "a", "db"),
  snap("b1", 1, "b", "web"),
  snap("b2", 2, "b", "web"),
];

Deno.test("planForget() weighs only the filtered snapshots, group by group", () => {
  const plan = planForget(all, { last: 1 }, { filter: { hosts: ["a"] } });
  assert.deepEqual(plan.map((d) => [d.group.job, d.keep.length, d.remove.length]), [
    ["db", 1, 0],
    ["web", 1, 2],
  ]);
  assert.deepEqual(removedIds(plan).map((id) => id.slice(0, 2)).sort(), ["a1", "a2"]);
  const byJob = planForget(all, { last: 1 }, { filter: { jobs: ["web"] }, groupBy: ["job"] });
  assert.deepEqual(byJob.length, 1);
  assert.deepEqual(byJob[0].keep.map((k) => k.snapshot.id.slice(0, 2)), ["a3"]);
});

Deno.test("planForget() refuses a policy that empties a group, naming it, unless allowed", () => {
  assert.throws(
    () => planForget(all, {}, { filter: { hosts: ["b"] } }),
    (err: unknown) =>
      err instanceof RetentionError && err.message.startsWith('snapshots of host "b"'),
  );
  const plan = planForget(all, {}, { filter: { hosts: ["b"] }, allowRemoveAll: true });
  assert.equal(removedIds(plan).length, 2);
});

Deno.test("groupLabel() names every grouping field and escapes them", () => {
  const label = groupLabel({ key: "", host: "h\x1b", paths: ["/x"], job: "", snapshots: [] });
  assert.match(label, /^snapshots of host "h.+", paths \[\/x\], no job$/);
  assert(!label.includes("\x1b"));
  assert.equal(groupLabel({ key: "", snapshots: [] }), "all snapshots");
});
