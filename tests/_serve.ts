/**
 * Servers as child processes for the end-to-end tests: `cairn serve` (the
 * fleet endpoint, its dashboard in Chromium) and `cairn ui`.
 *
 * @module
 */
import { cairnCommand, stopWithin } from "./_launcher.ts";

/** A running server process. */
export interface ServerProcess {
  /** What the server's log matched: its address. */
  match: RegExpExecArray;
  /** SIGTERM, then its exit code and everything it logged; throws if it does not stop within 60 s. */
  stop(): Promise<{ code: number; log: string }>;
}

/** Spawns `command` and reads its stderr until `pattern` matches (its address line). */
export async function startServer(command: Deno.Command, pattern: RegExp): Promise<ServerProcess> {
  const child = command.spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let match: RegExpExecArray | null = null;
  while (match === null) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`the server exited: ${log}`);
    log += value;
    match = pattern.exec(log);
  }
  // Keep draining stderr so the server never blocks on a full pipe.
  const drained = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return log;
      log += value;
    }
  })();
  return {
    match,
    async stop() {
      const status = await stopWithin(child, 60_000);
      await child.stdout.cancel();
      const log = await drained;
      if (!status) throw new Error(`the server was still running 60 s after SIGTERM: ${log}`);
      return { code: status.code, log };
    },
  };
}

/** `cairn serve --jobs-dir DIR ARGS` on a free loopback port; `base` is `http://127.0.0.1:PORT`. */
export async function startServe(
  jobsDir: string,
  args: string[] = [],
): Promise<ServerProcess & { base: string }> {
  const server = await startServer(
    cairnCommand(["serve", "--jobs-dir", jobsDir, "--listen", "127.0.0.1:0", ...args]),
    /listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  return { ...server, base: server.match[1] };
}
