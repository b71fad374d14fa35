import { assert, assertEquals } from "../testing/asserts.ts";
import { formatLogLine, Logger, logStyleFor, parseSeverity, stderrIsJournal } from "./log.ts";

const at = new Date("2026-12-02T17:07:48.123Z");

Deno.test("formatLogLine() puts the syslog priority in front for the journal, and no time", () => {
  assertEquals(
    formatLogLine("warning", "disk full", { style: "journal", now: at }),
    "<4>warning: disk full",
  );
  assertEquals(formatLogLine("error", "x", { style: "journal", timestamps: true }), "<3>error: x");
  assertEquals(formatLogLine("info", "job started", { style: "journal" }), "<6>job started");
  assertEquals(formatLogLine("debug", "a\nb", { style: "journal" }), "<7>debug: a\n<7>debug: b");
  assertEquals(
    formatLogLine("error", "cairn ls: boom", { style: "journal", bare: true }),
    "<3>cairn ls: boom",
  );
});

Deno.test("formatLogLine() stamps text lines with the UTC time and the severity word", () => {
  const o = { style: "text" as const, timestamps: true, now: at };
  assertEquals(formatLogLine("info", "started", o), "2026-12-02T17:07:48.123Z info: started");
  assertEquals(formatLogLine("warning", "w", o), "2026-12-02T17:07:48.123Z warning: w");
  assertEquals(
    formatLogLine("error", "e", { ...o, bare: true }),
    "2026-12-02T17:07:48.123Z error: e",
  );
  assertEquals(formatLogLine("info", "started", { style: "text" }), "started");
  assertEquals(formatLogLine("warning", "w", { style: "text" }), "warning: w");
});

Deno.test("parseSeverity() reads the severity word, also behind a job prefix", () => {
  assertEquals(parseSeverity("warning: x: y"), { severity: "warning", message: "x: y" });
  assertEquals(parseSeverity("error: /a: gone"), { severity: "error", message: "/a: gone" });
  assertEquals(parseSeverity(`job "a\\"b": warning: after: 1`), {
    severity: "warning",
    message: `job "a\\"b": after: 1`,
  });
  assertEquals(parseSeverity("removed 2 stale locks"), {
    severity: "info",
    message: "removed 2 stale locks",
  });
  assertEquals(parseSeverity("prune: warning: x").severity, "info", "only a leading word counts");
});

Deno.test("stderrIsJournal() needs JOURNAL_STREAM to name stderr's device and inode", () => {
  const stat = () => ({ dev: 15, ino: 24458 });
  assert(stderrIsJournal({ JOURNAL_STREAM: "15:24458" }, stat));
  assert(!stderrIsJournal({ JOURNAL_STREAM: "15:1" }, stat), "inherited, stderr redirected since");
  assert(!stderrIsJournal({}, stat));
  assert(
    !stderrIsJournal({ JOURNAL_STREAM: "15:24458" }, () => {
      throw new Error("no /proc");
    }),
  );
  assertEquals(logStyleFor({ CAIRN_LOG_FORMAT: "journal" }, () => false), "journal");
  assertEquals(logStyleFor({ CAIRN_LOG_FORMAT: "text" }, () => true), "text");
  assertEquals(logStyleFor({}, () => true), "journal");
});

Deno.test("Logger drops info lines when quiet and shows debug lines only when verbose", () => {
  const lines: string[] = [];
  const log = new Logger((l) => lines.push(l));
  const all = () => {
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
  };
  all();
  assertEquals(lines.splice(0), ["i", "warning: w", "error: e"]);
  log.verbosity = "quiet";
  all();
  assertEquals(lines.splice(0), ["warning: w", "error: e"]);
  log.verbosity = "verbose";
  all();
  assertEquals(lines.splice(0), ["debug: d", "i", "warning: w", "error: e"]);
});

Deno.test("Logger.line() keeps a caller's timestamp in front of the severity, or drops it for the journal", () => {
  const lines: string[] = [];
  new Logger((l) => lines.push(l)).line(`${at.toISOString()} job "a": warning: slow`);
  new Logger((l) => lines.push(l), "journal").line(`${at.toISOString()} job "a": warning: slow`);
  const stamped = new Logger((l) => lines.push(l), "text", () => at);
  stamped.timestamps = true;
  stamped.line("ran 1 due job(s)");
  assertEquals(lines, [
    `2026-12-02T17:07:48.123Z warning: job "a": slow`,
    `<4>warning: job "a": slow`,
    "2026-12-02T17:07:48.123Z info: ran 1 due job(s)",
  ]);
});
