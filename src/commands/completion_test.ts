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

/** The part of `text` from the line starting with `from` to the next line matching `next`. */
function section(text: string, from: string, next: RegExp): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.startsWith(from));
  if (at === -1) return "";
  const end = lines.findIndex((l, i) => i > at && next.test(l));
  return lines.slice(at, end === -1 ? undefined : end).join("\n");
}

/** Every `--name` (capture group 1) `re` finds in `text`, sorted and unique. */
function names(text: string, re: RegExp): string[] {
  return [...new Set([...text.matchAll(re)].map((m) => m[1].replaceAll("\\-", "-")))].sort();
}

Deno.test("help, completion scripts and the man page list exactly each command's table of options", () => {
  const bash = completionScript("bash", COMMANDS);
  const zsh = completionScript("zsh", COMMANDS);
  const fish = completionScript("fish", COMMANDS);
  const man = manPage(COMMANDS, "0.0.0");
  const all = COMMANDS.map((c) => c.name);
  // Every command is in the top-level lists of each, and has its own man page section.
  const bashTop = /compgen -W "([^"]*)"/.exec(bash)![1].split(" ");
  assertEquals(bashTop.filter((n) => n !== "help" && n !== "version"), all);
  for (const name of all) {
    assertStringIncludes(zsh, `'${name}:`, `zsh lacks the command ${name}`);
    assert(fish.includes(`-a ${name} -d `), `fish lacks the command ${name}`);
  }
  assertEquals(names(man, /^\.SS cairn ([a-z]+)/gm), [...all].sort());
  for (const cmd of COMMANDS) {
    const want = Object.keys(optionsOf(cmd)).sort();
    const help = commandHelp(cmd);
    const got = {
      help: names(help, /^ {2}(?:-\w, | {4})--([a-z-]+)/gm),
      bash: names(
        section(bash, `    ${cmd.name}) opts=`, /^ {4}\S/),
        /(?:^|[" ])--([a-z-]+)/g,
      ),
      zsh: names(section(zsh, `    ${cmd.name})`, /^ {6};;/), /'\*?--([a-z-]+)\[/g),
      fish: names(fish, new RegExp(`__fish_seen_subcommand_from ${cmd.name}" -l ([a-z-]+)`, "g")),
      man: names(
        section(man, `.SS cairn ${cmd.name}`, /^\.S[SH] /).split("\n.TP\n").slice(1).map((t) =>
          t.split("\n")[0]
        ).join("\n"),
        /\\fB\\-\\-([a-z\\-]+)\\fR/g,
      ),
    };
    for (const [where, list] of Object.entries(got)) {
      assertEquals(list, want, `${where} of cairn ${cmd.name} against its option table`);
    }
    for (const [name, spec] of Object.entries(optionsOf(cmd))) {
      if (spec.short) assertStringIncludes(help, `-${spec.short}, --${name}`);
    }
    // The usage line names only options the command has.
    for (const [, used] of cmd.usage.matchAll(/--([a-z][a-z-]*)/g)) {
      const known = used.endsWith("-") // `--keep-…`: a family of options
        ? Object.keys(optionsOf(cmd)).some((o) => o.startsWith(used))
        : used in optionsOf(cmd);
      assert(known, `cairn ${cmd.name}'s usage names --${used}, not an option`);
    }
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
