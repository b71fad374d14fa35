import { assertEquals } from "../testing/asserts.ts";
import { memoryOutput } from "./output.ts";
import { formatDuration, formatFrame, progressWanted } from "./progress.ts";

Deno.test("formatDuration() writes m:ss, and h:mm:ss past an hour", () => {
  assertEquals(formatDuration(0), "0:00");
  assertEquals(formatDuration(65.4), "1:05");
  assertEquals(formatDuration(3723), "1:02:03");
});

Deno.test("formatFrame() shows percent, totals, rate and ETA by bytes, then the files in progress", () => {
  const lines = formatFrame({
    unit: "files",
    items: 10,
    bytes: 25 * 1024 * 1024,
    errors: 1,
    total: { items: 40, bytes: 100 * 1024 * 1024, final: true },
    current: ["/src/big.iso", "/src/a\nb"],
  }, 5);
  assertEquals(lines, [
    "[0:05] 25.00%  10 files 25.0 MiB, total 40 files 100.0 MiB, 5.00 MiB/s, 1 errors, ETA 0:15",
    "  /src/big.iso",
    "  /src/a\\nb",
  ]);
  // Totals still being counted carry a "+"; by items when there are no bytes to go by.
  assertEquals(
    formatFrame(
      { unit: "packs", items: 1, bytes: 0, total: { items: 4, bytes: 0, final: false } },
      2,
    ),
    ["[0:02] 25.00%  1 packs 0 B, total 4 packs 0 B+, ETA 0:06"],
  );
  assertEquals(formatFrame({ unit: "files", items: 3, bytes: 0 }, 1), ["[0:01] 3 files 0 B"]);
  // A share the work knows itself (copy) sets percent and ETA; a total of no bytes is not shown.
  assertEquals(
    formatFrame({
      unit: "snapshots",
      items: 1,
      bytes: 2 * 1024 * 1024,
      total: { items: 4, bytes: 0, final: true },
      ratio: 0.4,
    }, 4),
    ["[0:04] 40.00%  1 snapshots 2.00 MiB, total 4 snapshots, 512.0 KiB/s, ETA 0:06"],
  );
});

Deno.test("progressWanted(): forced by --progress or CAIRN_PROGRESS, else a terminal not --quiet", () => {
  const output = memoryOutput();
  const want = (flags: Record<string, boolean>, env: Record<string, string>) =>
    progressWanted({ flags, env, output });
  assertEquals(want({}, {}), false, "memory output is no terminal");
  assertEquals(want({ progress: true }, {}), true);
  assertEquals(want({}, { CAIRN_PROGRESS: "1" }), true);
  assertEquals(want({ progress: true }, { CAIRN_PROGRESS: "0" }), true, "the flag wins");
  const tty = { ...output, interactive: true };
  assertEquals(progressWanted({ flags: {}, env: {}, output: tty }), true);
  assertEquals(progressWanted({ flags: {}, env: { CAIRN_PROGRESS: "0" }, output: tty }), false);
  tty.log.verbosity = "quiet";
  assertEquals(progressWanted({ flags: {}, env: {}, output: tty }), false);
});
