import { hookFailure, runHooks } from "./hooks.ts";
import type { HookCommand } from "./types.ts";
import { assertEquals } from "../testing/asserts.ts";

const sh = (cmd: string): HookCommand => ({ display: cmd, argv: ["/bin/sh", "-c", cmd] });

Deno.test("runHooks() passes CAIRN_JOB and CAIRN_RESULT and captures output", async () => {
  const results = await runHooks([sh('echo "$CAIRN_JOB $CAIRN_RESULT $EXTRA"; echo oops >&2')], {
    job: "etc",
    result: "partial",
    env: { EXTRA: "x" },
  });
  assertEquals(results.map((r) => [r.code, r.success, r.output.split("\n").sort()]), [
    [0, true, ["etc partial x", "oops"]],
  ]);
});

Deno.test("runHooks() with stopOnFailure stops at the first failing command", async () => {
  const results = await runHooks([sh("true"), sh("echo dump failed; exit 3"), sh("echo never")], {
    job: "db",
    stopOnFailure: true,
  });
  assertEquals(results.map((r) => r.command), ["true", "echo dump failed; exit 3"]);
  assertEquals(
    hookFailure(results),
    'command "echo dump failed; exit 3" exited with code 3: dump failed',
  );
  assertEquals(hookFailure(results.slice(0, 1)), undefined);
});

Deno.test("runHooks() runs every after command even when one fails", async () => {
  const results = await runHooks([sh("exit 1"), sh("echo ok")], { job: "db", result: "failed" });
  assertEquals(results.map((r) => r.success), [false, true]);
});

Deno.test("runHooks() keeps only the tail of long output", async () => {
  const [r] = await runHooks([sh("seq 1 20000")], { job: "x", maxOutputBytes: 100 });
  assertEquals(r.output.length <= 100, true);
  assertEquals(r.output.endsWith("19999\n20000"), true);
});

Deno.test("runHooks() reports a missing program as a failure, not a crash", async () => {
  const results = await runHooks([{ display: "/nonexistent/x", argv: ["/nonexistent/x"] }], {
    job: "x",
    stopOnFailure: true,
  });
  assertEquals(results[0].success, false);
  assertEquals(hookFailure(results)?.startsWith('command "/nonexistent/x" could not run'), true);
});

Deno.test("runHooks() passes on PATH and the locale but no password or S3 secret", async () => {
  const results = await runHooks([sh("env")], {
    job: "db",
    inherit: {
      PATH: "/usr/bin:/bin",
      LC_ALL: "C.UTF-8",
      CAIRN_PASSWORD: "hunter2",
      CAIRN_PASSWORD_FILE: "/etc/cairn/pw",
      AWS_ACCESS_KEY_ID: "AKIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret-key",
      AWS_SESSION_TOKEN: "session",
      DB_PASSWORD: "from-password_env",
    },
  });
  const lines = results[0].output.split("\n");
  for (const want of ["CAIRN_JOB=db", "PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8"]) {
    assertEquals(lines.includes(want), true, `${want} in ${lines}`);
  }
  const leaked = lines.filter((l) => /^(CAIRN_PASSWORD|AWS_|DB_PASSWORD)/.test(l));
  assertEquals(leaked, []);
});
