import type { MirrorTarget } from "../archiver/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { holdsContent, MIRROR_WRITER_MODULE } from "./file_writer.ts";

const target = (expect?: string[]): MirrorTarget => ({
  path: "/m/f",
  mode: 0o644,
  mtimeMs: 0,
  expect,
});

Deno.test("holdsContent() is true only for the very blob ids the mirror file holds", () => {
  assert(holdsContent(target(["a", "b"]), ["a", "b"]));
  assert(holdsContent(target([]), []));
  assert(!holdsContent(target(), []), "nothing known of the file: write it");
  assert(!holdsContent(target(["a", "b"]), ["b", "a"]));
  assert(!holdsContent(target(["a", "b"]), ["a", "b", "c"]));
  assert(!holdsContent(target(["a", "b"]), ["a"]));
});

Deno.test("the module the workers import by MIRROR_WRITER_MODULE is a MirrorWriterModule", async () => {
  const mod = await import(MIRROR_WRITER_MODULE);
  assertEquals(
    ["MirrorFileWriter", "retimeMirrorFile", "holdsContent"].map((k) => typeof mod[k]),
    ["function", "function", "function"],
  );
});
