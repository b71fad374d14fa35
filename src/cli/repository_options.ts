import { type Backend, createBackend, openBackend } from "../backend/mod.ts";
import { acquireSharedLock, type LockRepo, type RepoLock, Repository } from "../repo/mod.ts";
import { printable } from "./output.ts";
import { type CommandContext, type OptionSpec, stringFlag } from "./command.ts";
import { UsageError } from "./errors.ts";
import { withTestFaults } from "./_test_faults.ts";
import {
  PasswordFileError,
  passwordFromEnv,
  readPasswordFile as readFile,
  runPasswordCommand,
} from "../password/mod.ts";
import { canPrompt, promptPassword, type Terminal } from "./prompt.ts";

/** Where the repository is: `--repo`, else `$CAIRN_REPO`. */
export function repositoryLocation(ctx: CommandContext): string {
  const loc = stringFlag(ctx.flags, "repo") ?? ctx.env.CAIRN_REPO;
  if (!loc) throw new UsageError("No repository given: use --repo or set CAIRN_REPO");
  return loc;
}

/** Reads a password file (see `password/mod.ts`); UsageError when it cannot be read. */
export function readPasswordFile(file: string): string {
  return usage(() => readFile(file));
}

/** Runs `read`, a password file that cannot be read becoming a UsageError (exit 2). */
function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof PasswordFileError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

/**
 * The password, from `--password-file`, `$CAIRN_PASSWORD_FILE` or
 * `$CAIRN_PASSWORD`, never from the command line (it would show in `ps`).
 */
export function readPassword(ctx: CommandContext): string {
  const file = stringFlag(ctx.flags, "password-file");
  const command = stringFlag(ctx.flags, "password-command");
  if (file !== undefined && command !== undefined) {
    throw new UsageError("--password-file and --password-command exclude each other");
  }
  const pw = file !== undefined
    ? readPasswordFile(file)
    : command !== undefined
    ? runPasswordCommand(command, "--password-command")
    : usage(() => passwordFromEnv(ctx.env));
  if (pw !== undefined) return pw;
  throw new UsageError(
    "No password given: use --password-file or --password-command, or set CAIRN_PASSWORD_FILE, " +
      "CAIRN_PASSWORD_COMMAND or CAIRN_PASSWORD",
  );
}

/**
 * {@link readPassword}, or when none is given and standard input is a
 * terminal, the password typed there (twice with `confirm`: a new one).
 */
export async function obtainPassword(
  ctx: CommandContext,
  opts: { confirm?: boolean; term?: Terminal } = {},
): Promise<string> {
  try {
    return readPassword(ctx);
  } catch (err) {
    if (!(err instanceof UsageError) || !canPrompt(opts.term)) throw err;
  }
  const what = opts.confirm ? "Password for the new repository" : "Repository password";
  return await promptPassword(what, opts);
}

/**
 * A new password (`cairn key add`, `key passwd`): from `--new-password-file`,
 * else typed twice on the terminal.
 */
export async function readNewPassword(
  ctx: CommandContext,
  opts: { term?: Terminal } = {},
): Promise<string> {
  const file = stringFlag(ctx.flags, "new-password-file");
  let pw: string;
  if (file !== undefined) pw = readPasswordFile(file);
  else if (canPrompt(opts.term)) {
    pw = await promptPassword("New password", { ...opts, confirm: true });
  } else {throw new UsageError(
      "No new password given: use --new-password-file, or run on a terminal",
    );}
  if (pw === "") throw new UsageError("Refusing an empty password");
  return pw;
}

/**
 * Opens the repository the command line names, with its password. Damage
 * worked around (a skipped snapshot or index file) is one `warning:` line
 * on stderr. With `read`, the command also holds a shared lock until it
 * ends, so that no prune deletes a pack while it reads (docs/PRUNE.md rule 4), and
 * the index is reread under the lock; storage where no lock can be written
 * (read-only access) gets a warning and a read without one.
 */
export async function openRepository(
  ctx: CommandContext,
  opts: { read?: boolean; wrap?: (backend: Backend) => Backend } = {},
): Promise<Repository> {
  return await openRepositoryAt(ctx, repositoryLocation(ctx), await obtainPassword(ctx), opts);
}

/** Opens the repository at `location` as {@link openRepository} does. */
async function openRepositoryAt(
  ctx: CommandContext,
  location: string,
  password: string,
  opts: { read?: boolean; wrap?: (backend: Backend) => Backend } = {},
): Promise<Repository> {
  const backend = withTestFaults(
    openBackend(location, { env: ctx.env }),
    ctx.env,
    (l) => ctx.output.err(l),
  );
  const repo = await Repository.open(
    opts.wrap ? opts.wrap(backend) : backend,
    password,
    { onWarning: (m) => ctx.output.err(`warning: ${printable(m)}`) },
  );
  if (opts.read) await lockToRead(ctx, repo, { refreshIndex: true });
  return repo;
}

/** What {@link lockToRead} needs: what a lock needs, the warning sink, and an index refresh. */
export interface ReadLockRepo extends LockRepo {
  readonly onWarning: (message: string) => void;
  refreshIndex(): Promise<boolean>;
}

/** Takes the shared lock `openRepository(ctx, { read: true })` describes. */
export async function lockToRead(
  ctx: CommandContext,
  repo: ReadLockRepo,
  opts: { refreshIndex: boolean },
): Promise<void> {
  if (!ctx.atEnd) return; // nothing would release it
  let lock: RepoLock;
  try {
    lock = await acquireSharedLock(repo, { signal: ctx.signal, onWarning: repo.onWarning });
  } catch (err) {
    ctx.signal.throwIfAborted();
    repo.onWarning(
      `cannot write a lock (${(err as Error).message}); reading without one, ` +
        "so a prune running meanwhile may delete what this reads",
    );
    return;
  }
  ctx.atEnd(() => lock.release());
  if (opts.refreshIndex) await repo.refreshIndex();
}

/**
 * Creates the storage for a new repository (folders on a local disk, the
 * bucket on S3 when it is missing); AWS_* variables come from `env`.
 */
export async function createRepositoryBackend(
  location: string,
  env: Record<string, string | undefined>,
  opts: { objectLock?: boolean } = {},
) {
  try {
    const s3Backend = opts.objectLock ? { objectLock: true } : undefined;
    return await createBackend(location, { env, s3Backend });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new Error(`A repository already exists at ${location}; refusing to overwrite it`, {
        cause: err,
      });
    }
    throw err;
  }
}

/**
 * The options naming a second repository to read from (`cairn copy`,
 * `init --copy-chunker-params`), with restic's `--from-*` names.
 */
export const FROM_REPOSITORY_OPTIONS: Record<string, OptionSpec> = {
  "from-repo": {
    type: "string",
    arg: "LOCATION",
    description: "the source repository (default: $CAIRN_FROM_REPO)",
  },
  "from-password-file": {
    type: "string",
    arg: "FILE",
    description: "the source's password from FILE (default: $CAIRN_FROM_PASSWORD_FILE)",
  },
  "from-password-command": {
    type: "string",
    arg: "CMD",
    description: "the source's password is what CMD prints (default: $CAIRN_FROM_PASSWORD_COMMAND)",
  },
};

/** Where the source repository is: `--from-repo`, else `$CAIRN_FROM_REPO`, else undefined. */
export function fromRepositoryLocation(ctx: CommandContext): string | undefined {
  return stringFlag(ctx.flags, "from-repo") ?? ctx.env.CAIRN_FROM_REPO;
}

/**
 * The source repository's password: `--from-password-file`,
 * `--from-password-command`, `$CAIRN_FROM_PASSWORD_FILE`,
 * `$CAIRN_FROM_PASSWORD_COMMAND` or `$CAIRN_FROM_PASSWORD`, else typed on
 * the terminal.
 */
export async function obtainFromPassword(
  ctx: CommandContext,
  opts: { term?: Terminal } = {},
): Promise<string> {
  const file = stringFlag(ctx.flags, "from-password-file");
  const command = stringFlag(ctx.flags, "from-password-command");
  if (file !== undefined && command !== undefined) {
    throw new UsageError("--from-password-file and --from-password-command exclude each other");
  }
  const { env } = ctx;
  const pw = file !== undefined
    ? readPasswordFile(file)
    : command !== undefined
    ? runPasswordCommand(command, "--from-password-command")
    : env.CAIRN_FROM_PASSWORD_FILE
    ? readPasswordFile(env.CAIRN_FROM_PASSWORD_FILE)
    : env.CAIRN_FROM_PASSWORD_COMMAND
    ? runPasswordCommand(env.CAIRN_FROM_PASSWORD_COMMAND, "CAIRN_FROM_PASSWORD_COMMAND")
    : env.CAIRN_FROM_PASSWORD;
  if (pw !== undefined) return pw;
  if (canPrompt(opts.term)) return await promptPassword("Source repository password", opts);
  throw new UsageError(
    "No password given for the source repository: use --from-password-file or " +
      "--from-password-command, or set CAIRN_FROM_PASSWORD_FILE, CAIRN_FROM_PASSWORD_COMMAND " +
      "or CAIRN_FROM_PASSWORD",
  );
}

/**
 * Opens the source repository the `--from-*` options name, holding a
 * shared lock on it until the command ends (as `read` does for
 * {@link openRepository}).
 */
export async function openFromRepository(ctx: CommandContext): Promise<Repository> {
  const location = fromRepositoryLocation(ctx);
  if (!location) {
    throw new UsageError("No source repository given: use --from-repo or set CAIRN_FROM_REPO");
  }
  return await openRepositoryAt(ctx, location, await obtainFromPassword(ctx), { read: true });
}
