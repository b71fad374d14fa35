import type { SnapshotWithId } from "../repo/mod.ts";
import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { describeFilter, selectSnapshot } from "./select.ts";

function snap(id: string, host: string, time: string, extra: Partial<SnapshotWithId> = {}) {
  return {
    id: id.padEnd(64, "0"),
    time,
    tree: "ab".repeat(32),
    paths: [`/srv/${host}`],
    host,
    username: "u",
    tags: [],
    program_version: "test",
    ...extra,
  } as SnapshotWithId;
}

const ALL = [
  snap("a1", "web1", "2026-01-01T00:00:00Z", { tags: ["daily"] }),
  snap("a2", "web2", "2026-01-04T00:00:00Z", { job: "site" }),
  snap("b1", "web1", "2026-01-03T00:00:00Z", { job: "site", paths: ["/srv/web1", "/etc"] }),
  snap("c1", "db", "2026-01-02T00:00:00Z", { tags: ["daily", "db"] }),
];

Deno.test("selectSnapshot() picks latest among the snapshots that pass the filter", () => {
  const latest = (f = {}) => selectSnapshot(ALL, "latest", f).id.slice(0, 2);
  assertEquals(latest(), "a2");
  assertEquals(latest({ hosts: ["web1"] }), "b1");
  assertEquals(latest({ hosts: ["web1", "db"] }), "b1");
  assertEquals(latest({ tags: ["daily"] }), "c1");
  assertEquals(latest({ tags: ["daily,db"] }), "c1");
  assertEquals(latest({ tags: ["db", "daily"] }), "c1");
  assertEquals(latest({ hosts: ["web1"], tags: ["daily"] }), "a1");
  assertEquals(latest({ jobs: ["site"], hosts: ["web1"] }), "b1");
  assertEquals(latest({ paths: ["/etc"] }), "b1");
  assertThrows(() => latest({ paths: ["/etc", "/srv/web2"] }), Error, "No snapshot found");
});

Deno.test("selectSnapshot() refuses what the filter leaves out, naming the filter", () => {
  assertThrows(
    () => selectSnapshot(ALL, "latest", { hosts: ["nobody"] }),
    Error,
    "No snapshot found matching --host nobody",
  );
  assertThrows(
    () => selectSnapshot(ALL, "c1", { hosts: ["web1"] }),
    Error,
    'Snapshot "c1" does not match --host web1',
  );
  // Within the selection a prefix that is ambiguous overall becomes unique.
  assertEquals(selectSnapshot(ALL, "a", { hosts: ["web2"] }).id.slice(0, 2), "a2");
  assertEquals(
    describeFilter({ hosts: ["h"], paths: ["/p"], tags: ["a,b"], jobs: ["j"] }),
    "--host h --path /p --tag a,b --job j",
  );
});

Deno.test("an ambiguous prefix lists its candidates", () => {
  assertThrows(
    () => selectSnapshot(ALL, "a"),
    Error,
    'Snapshot prefix "a" is ambiguous: 2 match: a10000000000 (web1, 2026-01-01T00:00:00Z), ' +
      "a20000000000 (web2, 2026-01-04T00:00:00Z)",
  );
});
