/**
 * Shell completion scripts and the man page, generated from the same
 * option tables as `--help`, so the three can never disagree.
 *
 * @module
 */
import { type Command, optionsOf } from "./command.ts";

/** Shells `cairn completion` writes a script for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = typeof SHELLS[number];

/** Words a shell may not see unquoted in a description. */
function plain(text: string): string {
  return text.replace(/['"`$\\[\]:]/g, "");
}

function optionWords(cmd: Command): string[] {
  const words: string[] = [];
  for (const [name, s] of Object.entries(optionsOf(cmd))) {
    words.push(`--${name}`);
    if (s.short) words.push(`-${s.short}`);
  }
  return words;
}

/** The completion script for `shell`. */
export function completionScript(shell: Shell, commands: readonly Command[]): string {
  switch (shell) {
    case "bash":
      return bash(commands);
    case "zsh":
      return zsh(commands);
    case "fish":
      return fish(commands);
  }
}

function bash(commands: readonly Command[]): string {
  const names = [...commands.map((c) => c.name), "help", "version"].join(" ");
  const cases = commands.map((c) => `    ${c.name}) opts="${optionWords(c).join(" ")}" ;;`);
  return [
    "# bash completion for cairn: source it, or put it in /etc/bash_completion.d/cairn",
    "_cairn() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" opts=""',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W "${names}" -- "$cur"))`,
    "    return",
    "  fi",
    '  case "${COMP_WORDS[1]}" in',
    ...cases,
    `    help) COMPREPLY=($(compgen -W "${names}" -- "$cur")); return ;;`,
    "  esac",
    '  if [[ "$cur" == -* ]]; then',
    '    COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
    "  else",
    '    COMPREPLY=($(compgen -f -- "$cur"))',
    "  fi",
    "}",
    "complete -o filenames -F _cairn cairn",
    "",
  ].join("\n");
}

function zsh(commands: readonly Command[]): string {
  const lines = [
    "#compdef cairn",
    "# zsh completion for cairn: put it in a directory of $fpath as _cairn",
    "_cairn() {",
    "  local -a commands",
    "  commands=(",
    ...commands.map((c) => `    '${c.name}:${plain(c.summary)}'`),
    "    'help:show help for a command'",
    "    'version:print the version'",
    "  )",
    "  if (( CURRENT == 2 )); then",
    "    _describe command commands",
    "    return",
    "  fi",
    "  case $words[2] in",
  ];
  for (const c of commands) {
    const specs = Object.entries(optionsOf(c)).map(([name, s]) => {
      const arg = s.type === "string" ? `:${plain(s.arg ?? "value")}:_files` : "";
      const rep = s.multiple ? "*" : "";
      return `        '${rep}--${name}[${plain(s.description)}]${arg}'`;
    });
    lines.push(
      `    ${c.name})`,
      "      _arguments \\",
      ...specs.map((l) => `${l} \\`),
      "        '*:file:_files'",
      "      ;;",
    );
  }
  lines.push("  esac", "}", '_cairn "$@"', "");
  return lines.join("\n");
}

function fish(commands: readonly Command[]): string {
  const names = commands.map((c) => c.name).join(" ");
  const lines = [
    "# fish completion for cairn: put it in ~/.config/fish/completions/cairn.fish",
    "complete -c cairn -f",
    ...commands.map((c) =>
      `complete -c cairn -n "not __fish_seen_subcommand_from ${names}" -a ${c.name} -d '${
        plain(c.summary)
      }'`
    ),
  ];
  for (const c of commands) {
    for (const [name, s] of Object.entries(optionsOf(c))) {
      const short = s.short ? ` -s ${s.short}` : "";
      const arg = s.type === "string" ? " -r -F" : "";
      lines.push(
        `complete -c cairn -n "__fish_seen_subcommand_from ${c.name}" -l ${name}${short}${arg} -d '${
          plain(s.description)
        }'`,
      );
    }
  }
  lines.push("");
  return lines.join("\n");
}

/** Escapes text for roff. */
function roff(text: string): string {
  return text.replace(/\\/g, "\\e").replace(/-/g, "\\-").replace(/^([.'])/gm, "\\&$1");
}

/** The man page, cairn(1), in roff. */
export function manPage(commands: readonly Command[], version: string): string {
  const lines = [
    `.TH CAIRN 1 "" "cairn ${version}" "User Commands"`,
    ".SH NAME",
    "cairn \\- encrypted, deduplicated backups with browsable mirrors",
    ".SH SYNOPSIS",
    ".B cairn",
    "\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]",
    ".SH DESCRIPTION",
    "cairn backs up files into a repository (a local directory or S3\\-compatible object",
    "storage) as encrypted, deduplicated snapshots, and can keep plain mirror copies.",
    "The repository comes from \\fB\\-\\-repo\\fR or \\fBCAIRN_REPO\\fR; the password from",
    "\\fB\\-\\-password\\-file\\fR, \\fB\\-\\-password\\-command\\fR, \\fBCAIRN_PASSWORD_FILE\\fR,",
    "\\fBCAIRN_PASSWORD_COMMAND\\fR or \\fBCAIRN_PASSWORD\\fR, or is asked for on a terminal.",
    ".SH COMMANDS",
  ];
  for (const c of commands) {
    lines.push(".SS " + roff(c.usage), roff(c.summary) + ".");
    if (c.description) lines.push(".PP", ...c.description.split("\n").map(roff));
    for (const [name, s] of Object.entries(optionsOf(c))) {
      const flag = `${s.short ? `\\fB\\-${s.short}\\fR, ` : ""}\\fB\\-\\-${roff(name)}\\fR${
        s.arg ? ` \\fI${roff(s.arg)}\\fR` : ""
      }`;
      lines.push(".TP", flag, roff(s.description));
    }
  }
  lines.push(
    ".SH EXIT STATUS",
    "0 success, 1 fatal error, 2 usage or configuration error, 3 backup finished but some",
    "source files could not be read, 130 interrupted.",
    ".SH SEE ALSO",
    "restic(1), the documents in the docs/ folder of cairn's source.",
    "",
  );
  return lines.join("\n");
}
