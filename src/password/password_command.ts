/**
 * `--password-command`, `CAIRN_PASSWORD_COMMAND` and a job's
 * `password_command`: the password is what a command prints, for secret
 * stores (`pass show backup/repo`, `secret-tool lookup ...`). It runs with
 * `sh -c`, its standard input and error are the terminal's (so a store may
 * ask for a passphrase), and its output is read by the rule a password file
 * is (`passwordFromText`: leading and trailing whitespace are not part of it).
 *
 * @module
 */

import { passwordFromText } from "./password_file.ts";

/** Runs `command` and returns the password it prints; one line naming it when it fails. */
export function runPasswordCommand(command: string, what = "password command"): string {
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command("sh", {
      args: ["-c", command],
      stdin: "inherit",
      stdout: "piped",
      stderr: "inherit",
    }).outputSync();
  } catch (err) {
    throw new Error(`${what} "${command}" cannot run: ${(err as Error).message}`);
  }
  if (!out.success) {
    throw new Error(`${what} "${command}" exited with code ${out.code}; no password`);
  }
  const pw = passwordFromText(new TextDecoder().decode(out.stdout));
  if (pw === "") throw new Error(`${what} "${command}" printed no password`);
  return pw;
}
