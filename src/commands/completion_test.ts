import {
  commandHelp,
  completionScript,
  manPage,
  memoryOutput,
  optionsOf,
  runCli,
} from "../cli/mod.ts";
import { assert, assertEquals, assertStringIncludes } from "../testing/asserts.ts";
import { COMMANDS } from "./mod.ts";

Deno.test("help, completion scripts and the man page list the same commands and options", () => {
  const scripts = {
    bash: completionScript("bash", COMMANDS),
    zsh: completionScript("zsh", COMMANDS),
    fish: completionScript("fish", COMMANDS),
  };
  const man = manPage(COMMANDS, "0.0.0");
  for (const cmd of COMMANDS) {
    const help = commandHelp(cmd);
    for (const [name, spec] of Object.entries(optionsOf(cmd))) {
      assertStringIncludes(help, `--${name}`, `${cmd.name} --help lacks --${name}`);
      assertStringIncludes(scripts.bash, `--${name}`, `bash lacks ${cmd.name} --${name}`);
      assertStringIncludes(scripts.zsh, `--${name}[`, `zsh lacks ${cmd.name} --${name}`);
      assert(
        scripts.fish.includes(`__fish_seen_subcommand_from ${cmd.name}" -l ${name}`),
        `fish lacks ${cmd.name} --${name}`,
      );
      assertStringIncludes(man, `\\-\\-${name.replaceAll("-", "\\-")}`, `man lacks --${name}`);
      if (spec.short) assertStringIncludes(help, `-${spec.short}, --${name}`);
    }
    assertStringIncludes(man, `.SS cairn ${cmd.name}`);
  }
});

/** The words bash would offer after `words`, with the script cairn prints. */
async function bashComplete(script: string, words: string[]): Promise<string[]> {
  const file = await Deno.makeTempFile({ suffix: ".bash" });
  await Deno.writeTextFile(file, script);
  const quoted = words.map((w) => `'${w}'`).join(" ");
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      `source '${file}'; COMP_WORDS=(${quoted}); COMP_CWORD=${
        words.length - 1
      }; _cairn; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
  }).output();
  await Deno.remove(file);
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).sort();
}

Deno.test("the bash script completes commands and each command's options in a real bash", async () => {
  const output = memoryOutput();
  const code = await runCli(
    COMMANDS,
    ["completion", "bash"],
    {},
    output,
    new AbortController().signal,
  );
  assertEquals(code, 0);
  const script = output.stdout.join("\n");
  assertEquals(await bashComplete(script, ["cairn", "sna"]), ["snapshots"]);
  assertEquals(await bashComplete(script, ["cairn", "restore", "--ta"]), ["--tag", "--target"]);
  assertEquals(await bashComplete(script, ["cairn", "backup", "--exclude-i"]), [
    "--exclude-if-present",
  ]);
});

Deno.test("cairn completion refuses an unknown shell with exit 2", async () => {
  const output = memoryOutput();
  const code = await runCli(
    COMMANDS,
    ["completion", "tcsh"],
    {},
    output,
    new AbortController().signal,
  );
  assertEquals(code, 2);
  assertEquals(output.stderr, [
    'cairn completion: unknown shell "tcsh": expected one of bash, zsh, fish',
  ]);
});
