import denoJson from "../../deno.json" with { type: "json" };
import { assertEquals, assertStringIncludes } from "../testing/asserts.ts";
import { type Command, expectPositionals } from "./command.ts";
import { ExitCode, UsageError } from "./errors.ts";
import { memoryOutput } from "./output.ts";
import { runCli } from "./run.ts";

const backup: Command = {
  name: "backup",
  summary: "make a snapshot",
  usage: "cairn backup PATH...",
  usesRepository: false,
  options: {
    exclude: { type: "string", multiple: true, arg: "GLOB", description: "leave out" },
    force: { type: "boolean", description: "read everything" },
  },
  run(ctx) {
    if (ctx.positionals[0] === "wait") {
      return new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))
      );
    }
    if (ctx.positionals[0] === "usage") {
      throw new UsageError("cairn backup: cairn backup: --target DIR is required");
    }
    expectPositionals(this, ctx.positionals, 1);
    return Promise.resolve(ExitCode.ok);
  },
};

async function run(args: string[], signal = new AbortController().signal) {
  const output = memoryOutput();
  const code = await runCli([backup], args, {}, output, signal);
  return { code, out: output.stdout.join("\n"), err: output.stderr };
}

Deno.test("a mistyped command or option gets the nearest one suggested, in one line", async () => {
  const cmd = await run(["bakup", "x"]);
  assertEquals(cmd.code, ExitCode.usage);
  assertEquals(cmd.err, [
    `cairn: unknown command "bakup" (did you mean "backup"? see 'cairn --help')`,
  ]);
  const opt = await run(["backup", "x", "--exlcude", "*.tmp"]);
  assertEquals(opt.code, ExitCode.usage);
  assertEquals(opt.err, [
    "cairn backup: unknown option --exlcude (did you mean --exclude?); see --help",
  ]);
  const far = await run(["backup", "x", "--zzzzzz=1"]);
  assertEquals(far.err, ["cairn backup: unknown option --zzzzzz; see --help"]);
});

Deno.test("an error that names its command is not prefixed twice", async () => {
  const r = await run(["backup", "usage"]);
  assertEquals(r.code, ExitCode.usage);
  assertEquals(r.err, ["cairn backup: --target DIR is required"]);
  const pos = await run(["backup"]);
  assertEquals(pos.err.length, 1);
  assertEquals(pos.err[0].split("cairn backup:").length, 2, pos.err[0]);
});

Deno.test("an interrupted command exits 130 with one line", async () => {
  const abort = new AbortController();
  const pending = run(["backup", "wait"], abort.signal);
  abort.abort(new Error("interrupted"));
  const r = await pending;
  assertEquals([r.code, r.err], [130, ["cairn backup: interrupted"]]);
});

Deno.test("cairn help COMMAND is the command's help; version comes from deno.json", async () => {
  const help = await run(["help", "backup"]);
  assertEquals(help.code, 0);
  assertStringIncludes(help.out, "Usage: cairn backup PATH...");
  assertStringIncludes(help.out, "--exclude GLOB");
  assertEquals((await run(["version"])).out, `cairn ${denoJson.version}`);
  assertEquals((await run(["--version"])).out, `cairn ${denoJson.version}`);
});
