/** A password file that cannot be read: a usage problem, not a repository one. */
export class PasswordFileError extends Error {
  override name = "PasswordFileError";
}

/**
 * The password a file's (or a password command's) text gives, by restic's
 * rule (`strings.TrimSpace` in its `loadPasswordFromFile`): the whole text
 * less leading and trailing whitespace, so trailing newlines (`\n` or
 * `\r\n`, one or several), spaces and a byte-order mark are not part of it.
 * A password cannot begin or end with whitespace.
 */
export function passwordFromText(text: string): string {
  return text.trim();
}

/** Reads a password file by the rule of {@linkcode passwordFromText}. */
export function readPasswordFile(file: string): string {
  try {
    return passwordFromText(Deno.readTextFileSync(file));
  } catch (err) {
    throw new PasswordFileError(`Cannot read password file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
