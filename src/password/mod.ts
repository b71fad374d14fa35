/**
 * Where a repository password comes from, read the same way by the command
 * line and by job files:
 *
 * - {@link readPasswordFile}: `--password-file`, `CAIRN_PASSWORD_FILE`
 * - {@link runPasswordCommand}: `--password-command`, `CAIRN_PASSWORD_COMMAND`
 * - {@link passwordFromEnv}: the `CAIRN_PASSWORD*` fallback of both
 *
 * This module imports nothing of cairn's, so any layer may use it.
 *
 * @module
 */

export { PasswordFileError, readPasswordFile } from "./password_file.ts";
export { runPasswordCommand } from "./password_command.ts";
export { passwordFromEnv } from "./password_env.ts";
