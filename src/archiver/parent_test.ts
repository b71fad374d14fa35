import type { SnapshotWithId } from "../repo/mod.ts";
import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { findParent, type ParentSource } from "./parent.ts";

function snap(id: string, host: string, paths: string[], job?: string): SnapshotWithId {
  const time = `2024-01-0${id.length}T00:00:00Z`;
  return {
    id: id.padEnd(64, "0"),
    time,
    tree: "t".repeat(64),
    paths,
    host,
    username: "u",
    tags: [],
    job,
    program_version: "test",
  } as SnapshotWithId;
}

// Oldest first, as listSnapshots() gives them.
const ALL = [
  snap("a1", "web", ["/srv", "/etc"]),
  snap("b22", "web", ["/etc", "/srv"], "nightly"),
  snap("c333", "db", ["/srv", "/etc"]),
  snap("d4444", "web", ["/srv"]),
];
const source: ParentSource = { listSnapshots: () => Promise.resolve([...ALL]) };

Deno.test("findParent() picks the newest snapshot of the same host and path set", async () => {
  assertEquals((await findParent(source, "web", ["/srv", "/etc"]))?.id.slice(0, 3), "b22");
  assertEquals((await findParent(source, "db", ["/etc", "/srv"]))?.id.slice(0, 4), "c333");
  assertEquals(await findParent(source, "mail", ["/srv"]), undefined);
});

Deno.test("findParent() with a job takes only that job's snapshots", async () => {
  const opts = { job: "nightly" };
  assertEquals((await findParent(source, "web", ["/etc", "/srv"], opts))?.id.slice(0, 3), "b22");
  assertEquals(await findParent(source, "web", ["/srv"], opts), undefined);
});

Deno.test("findParent() with a ref resolves it among all snapshots, whatever host", async () => {
  assertEquals((await findParent(source, "web", ["/x"], { ref: "c3" }))?.host, "db");
  assertEquals(
    (await findParent(source, "web", ["/x"], { ref: "latest" }))?.id.slice(0, 5),
    "d4444",
  );
  await assertRejects(() => findParent(source, "web", ["/x"], { ref: "ff" }));
});
