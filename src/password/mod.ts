/**
 * Where a repository password comes from, read the same way by the command
 * line and by job files, with one rule for the text of a file or a command's
 * output (restic's: leading and trailing whitespace are not part of it):
 *
 * - {@link readPasswordFile}: `--password-file`, `CAIRN_PASSWORD_FILE`
 * - {@link runPasswordCommand}: `--password-command`, `CAIRN_PASSWORD_COMMAND`
 * - {@link passwordFromEnv}: the `CAIRN_PASSWORD*` fallback of both
 *
 * This module imports nothing of cairn's, so any layer may use it.
 *
 * @module
 */

export { PasswordFileError, passwordFromText, readPasswordFile } from "./password_file.ts";
export { runPasswordCommand } from "./password_command.ts";
export { passwordFromEnv } from "./password_env.ts";
