import { createBackend, openBackend } from "../backend/mod.ts";
import { Repository } from "../repo/mod.ts";
import { type CommandContext, stringFlag } from "./command.ts";
import { UsageError } from "./errors.ts";

/** Where the repository is: `--repo`, else `$CAIRN_REPO`. */
export function repositoryLocation(ctx: CommandContext): string {
  const loc = stringFlag(ctx.flags, "repo") ?? ctx.env.CAIRN_REPO;
  if (!loc) throw new UsageError("No repository given: use --repo or set CAIRN_REPO");
  return loc;
}

/**
 * The password, from `--password-file`, `$CAIRN_PASSWORD_FILE` or
 * `$CAIRN_PASSWORD`, never from the command line (it would show in `ps`).
 * A file's trailing newline is not part of the password.
 */
export function readPassword(ctx: CommandContext): string {
  const file = stringFlag(ctx.flags, "password-file") ?? ctx.env.CAIRN_PASSWORD_FILE;
  if (file) {
    try {
      return Deno.readTextFileSync(file).replace(/\r?\n$/, "");
    } catch (err) {
      throw new UsageError(`Cannot read password file ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  const pw = ctx.env.CAIRN_PASSWORD;
  if (pw !== undefined) return pw;
  throw new UsageError(
    "No password given: use --password-file, or set CAIRN_PASSWORD_FILE or CAIRN_PASSWORD",
  );
}

/** Opens the repository the command line names, with its password. */
export function openRepository(ctx: CommandContext): Promise<Repository> {
  const location = repositoryLocation(ctx);
  const password = readPassword(ctx);
  return Repository.open(openBackend(location), password);
}

/** Creates the storage for a new repository (folders on a local disk). */
export async function createRepositoryBackend(location: string) {
  try {
    return await createBackend(location);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new Error(`A repository already exists at ${location}; refusing to overwrite it`, {
        cause: err,
      });
    }
    throw err;
  }
}
