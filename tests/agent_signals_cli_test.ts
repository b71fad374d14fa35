/**
 * The agent as a real process: SIGHUP reloads its job file (an invalid one
 * is logged and the old jobs stay), SIGTERM stops it cleanly.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairnCommand, makeRepo, stopWithin, writeJobFile } from "./_launcher.ts";

/** Reads a child's stderr as it comes; `until` waits for a pattern, failing if the child exits. */
function logOf(child: Deno.ChildProcess) {
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let done = false;
  return {
    get text() {
      return text;
    },
    async until(pattern: RegExp, from = 0): Promise<number> {
      for (;;) {
        const m = pattern.exec(text.slice(from));
        if (m) return from + m.index + m[0].length;
        if (done) throw new Error(`agent exited before logging ${pattern}:\n${text}`);
        const r = await reader.read();
        if (r.done) done = true;
        else text += r.value;
      }
    },
    async rest(): Promise<string> {
      while (!done) {
        const r = await reader.read();
        if (r.done) done = true;
        else text += r.value;
      }
      return text;
    },
  };
}

Deno.test("cairn agent reloads its file on SIGHUP, keeps its jobs on a bad one, and stops on SIGTERM", async () => {
  const { dir, env } = await makeRepo();
  await Deno.mkdir(`${dir}/src`);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "a\n");
  // The agent is given a link in conf/ to the file in real/: the file watcher
  // looks at conf/, so an edit in real/ reaches the agent only through SIGHUP.
  await Deno.mkdir(`${dir}/real`);
  await Deno.mkdir(`${dir}/conf`);
  const real = `${dir}/real/cairn.toml`;
  const config = `${dir}/conf/cairn.toml`;
  await Deno.symlink(real, config);
  const job = (name: string) => [
    "[[job]]",
    `name = "${name}"`,
    `repository = "main"`,
    `paths = ["${dir}/src"]`,
    `schedule = "@yearly"`,
  ];
  const file = (...jobs: string[]) => writeJobFile(dir, env, jobs.flatMap(job), real);
  await file("first");

  const child = cairnCommand(["agent", "--config", config]).spawn();
  const log = logOf(child);
  let stopped = false;
  try {
    // A job that never ran is due at once.
    let at = await log.until(/agent started: 1 job\(s\), 1 scheduled/);
    at = await log.until(/job "first": snapshot [0-9a-f]{8}/, at);

    await file("first", "second");
    child.kill("SIGHUP");
    at = await log.until(/reloaded .*cairn\.toml: 2 local job\(s\)/, at);
    at = await log.until(/job "second": snapshot [0-9a-f]{8}/, at);

    await Deno.writeTextFile(real, "[[job]\nname = \n");
    child.kill("SIGHUP");
    at = await log.until(/reload failed, keeping the previous jobs: .*cairn\.toml/, at);

    child.kill("SIGTERM");
    at = await log.until(/stopping after the running job's safe point/, at);
    await log.until(/agent stopped/, at);
    stopped = true;
  } finally {
    if (!stopped) child.kill("SIGKILL"); // a failed step: do not leave the agent running
  }
  const status = await child.status;
  await child.stdout.cancel();
  const text = await log.rest();
  assertEquals([status.code, status.signal], [0, null], text);
  // Each job ran once: the reload did not rerun the first one.
  assertEquals(text.match(/job "first": starting/g)?.length, 1, text);
  assertEquals(text.match(/job "second": starting/g)?.length, 1, text);
  assertStringIncludes(text, "agent stopped");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cairn agent stops on a SIGTERM sent while it is still starting", async () => {
  // Such a SIGTERM used to be lost (the daemon then ran on forever and hung a CI run).
  // No log line marks the window between the signal handler and the scheduler, so
  // the signal is sent at a spread of moments across the start.
  const { dir, env } = await makeRepo();
  try {
    await Deno.mkdir(`${dir}/src`);
    const config = await writeJobFile(dir, env, [
      "[[job]]",
      `name = "later"`,
      `repository = "main"`,
      `paths = ["${dir}/src"]`,
      `schedule = "@yearly"`,
    ]);
    // A run that has just been recorded: nothing is due, so only the signal can end the agent.
    const first = await cairnCommand(["run", "--config", config, "later"]).output();
    assertEquals(first.code, 0, new TextDecoder().decode(first.stderr));
    // The window is some 25 ms wide, somewhere in the first second or two.
    for (let ms = 0; ms <= 1500; ms += 125) {
      const child = cairnCommand(["agent", "--config", config]).spawn();
      const log = logOf(child);
      await new Promise((r) => setTimeout(r, ms));
      const stopped = await stopWithin(child, 30_000);
      await child.stdout.cancel();
      const text = await log.rest();
      assert(stopped, `SIGTERM after ${ms} ms: still running 30 s later\n${text}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
