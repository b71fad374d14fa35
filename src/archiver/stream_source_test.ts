import { assert, assertRejects, assertStringIncludes } from "../testing/asserts.ts";
import { commandSource, StreamCommandError } from "./stream_source.ts";

Deno.test("a stream command started after the backup was aborted is killed at once", async () => {
  const ac = new AbortController();
  ac.abort();
  const src = commandSource(["sleep", "30"], "dump.sql", ac.signal);
  const err = await assertRejects(() => src.finished!(), StreamCommandError);
  assertStringIncludes(err.message, "killed by SIGTERM");
  await src.stream.cancel().catch(() => {});
});

Deno.test("a stream command that exits 0 finishes with its bytes", async () => {
  const src = commandSource(["printf", "abc"], "out.txt", new AbortController().signal);
  const bytes = new Uint8Array(await new Response(src.stream).arrayBuffer());
  await src.finished!();
  assert(new TextDecoder().decode(bytes) === "abc");
});
