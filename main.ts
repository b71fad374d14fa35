/**
 * cairn's entry point: parse the command line, run the command, map errors
 * to exit codes (0 ok, 1 fatal, 2 usage, 3 partial backup).
 */
import { processOutput, runCli } from "./src/cli/mod.ts";
import { commandsFor } from "./src/commands/load.ts";

if (import.meta.main) {
  const abort = new AbortController();
  const env = Deno.env.toObject();
  const onSignal = () => abort.abort(new Error("interrupted"));
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  const code = await runCli(
    await commandsFor(Deno.args[0]),
    Deno.args,
    env,
    processOutput(env),
    abort.signal,
  );
  Deno.exit(code);
}
