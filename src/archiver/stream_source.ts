import { onAbort } from "../fs/mod.ts";
import { isSafeName } from "../repo/mod.ts";
import type { StreamSource } from "./archiver.ts";

/** The lines of a failed command's stderr that its error quotes. */
export const STDERR_TAIL_LINES = 10;
const STDERR_TAIL_BYTES = 4096;

/** The stream's name in the snapshot, checked: one path element. */
export function streamName(name: string): string {
  if (!isSafeName(name)) {
    throw new TypeError(
      `stream file name ${JSON.stringify(name)} must be one path element (no '/', not '.' or '..')`,
    );
  }
  return name;
}

/** This process's standard input as a stream source. */
export function stdinSource(name: string): StreamSource {
  return { name: streamName(name), stream: Deno.stdin.readable };
}

/** Raised when a stream's command cannot start or does not exit 0. */
export class StreamCommandError extends Error {}

/**
 * A command's standard output as a stream source. Its stderr is kept (the
 * last few KiB) and quoted when it exits with anything but 0, which fails
 * the backup before a snapshot is written. The command is killed if the
 * backup stops first (`signal`, or an error reading the stream).
 */
export function commandSource(
  argv: string[],
  name: string,
  signal?: AbortSignal,
): StreamSource {
  if (argv.length === 0) throw new TypeError("no command to run");
  streamName(name);
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new StreamCommandError(`cannot run ${argv[0]}: ${(err as Error).message}`);
  }
  const kill = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
  };
  const offAbort = onAbort(signal, kill);
  let tail = new Uint8Array(0);
  const stderr = (async () => {
    for await (const bytes of child.stderr) {
      const joined = new Uint8Array(tail.length + bytes.length);
      joined.set(tail);
      joined.set(bytes, tail.length);
      tail = joined.subarray(Math.max(0, joined.length - STDERR_TAIL_BYTES));
    }
  })().catch(() => {});
  // Cancelling the stream (the backup failed while reading) kills the command.
  const reader = child.stdout.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const r = await reader.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel() {
      kill();
      return reader.cancel().catch(() => {});
    },
  });
  return {
    name,
    stream,
    async finished() {
      const status = await child.status;
      offAbort();
      await stderr;
      if (status.success) return;
      const how = status.signal
        ? `was killed by ${status.signal}`
        : `exited with code ${status.code}`;
      const lines = new TextDecoder().decode(tail).split("\n").filter((l) => l.trim() !== "");
      const quoted = lines.slice(-STDERR_TAIL_LINES).join(" | ");
      throw new StreamCommandError(
        `command ${argv[0]} ${how}, so no snapshot was written${
          quoted ? `; stderr: ${quoted}` : ""
        }`,
      );
    },
  };
}
