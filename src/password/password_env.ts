import { runPasswordCommand } from "./password_command.ts";
import { readPasswordFile } from "./password_file.ts";

/**
 * The password `$CAIRN_PASSWORD_FILE`, else `$CAIRN_PASSWORD_COMMAND`'s
 * output, else `$CAIRN_PASSWORD` gives, if any is set.
 */
export function passwordFromEnv(env: Record<string, string | undefined>): string | undefined {
  if (env.CAIRN_PASSWORD_FILE) return readPasswordFile(env.CAIRN_PASSWORD_FILE);
  if (env.CAIRN_PASSWORD_COMMAND) {
    return runPasswordCommand(env.CAIRN_PASSWORD_COMMAND, "CAIRN_PASSWORD_COMMAND");
  }
  return env.CAIRN_PASSWORD;
}
