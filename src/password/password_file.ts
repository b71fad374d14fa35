/** A password file that cannot be read: a usage problem, not a repository one. */
export class PasswordFileError extends Error {
  override name = "PasswordFileError";
}

/** Reads a password file; its trailing newline is not part of the password. */
export function readPasswordFile(file: string): string {
  try {
    return Deno.readTextFileSync(file).replace(/\r?\n$/, "");
  } catch (err) {
    throw new PasswordFileError(`Cannot read password file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
