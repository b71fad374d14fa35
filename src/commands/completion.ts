import {
  type Command,
  completionScript,
  expectPositionals,
  manPage,
  type Shell,
  SHELLS,
  UsageError,
  VERSION,
} from "../cli/mod.ts";

/**
 * `cairn completion SHELL`: a completion script built from every command's
 * option table. `commands` is a function so the list can hold this command.
 */
export function completionCommand(commands: () => readonly Command[]): Command {
  return {
    name: "completion",
    summary: "print a shell completion script (bash, zsh or fish)",
    usage: "cairn completion bash|zsh|fish",
    description: [
      "bash: cairn completion bash > /etc/bash_completion.d/cairn",
      'zsh:  cairn completion zsh > "${fpath[1]}/_cairn"',
      "fish: cairn completion fish > ~/.config/fish/completions/cairn.fish",
    ].join("\n"),
    usesRepository: false,
    options: {},
    run(ctx) {
      expectPositionals(this, ctx.positionals, 1);
      const shell = ctx.positionals[0] as Shell;
      if (!SHELLS.includes(shell)) {
        throw new UsageError(`unknown shell "${shell}": expected one of ${SHELLS.join(", ")}`);
      }
      ctx.output.out(completionScript(shell, commands()).trimEnd());
      return Promise.resolve(0);
    },
  };
}

/** `cairn man`: the man page, from the same option tables as `--help`. */
export function manCommand(commands: () => readonly Command[]): Command {
  return {
    name: "man",
    summary: "print the man page (roff): cairn man > /usr/local/share/man/man1/cairn.1",
    usage: "cairn man",
    usesRepository: false,
    options: {},
    run(ctx) {
      expectPositionals(this, ctx.positionals, 0);
      ctx.output.out(manPage(commands(), VERSION).trimEnd());
      return Promise.resolve(0);
    },
  };
}
