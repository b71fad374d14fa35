/**
 * Asking for a password on the terminal, without echo, as restic does when
 * no password is given and standard input is a terminal.
 *
 * @module
 */
import { InterruptedError, UsageError } from "./errors.ts";

/** Where a prompt reads and writes; the real terminal by default (tests give their own). */
export interface Terminal {
  isTerminal(): boolean;
  setRaw(raw: boolean): void;
  read(buf: Uint8Array): Promise<number | null>;
  write(text: string): void;
}

/** Standard input for the keys, standard error for the prompt. */
export const STDIO_TERMINAL: Terminal = {
  isTerminal: () => Deno.stdin.isTerminal(),
  setRaw: (raw) => Deno.stdin.setRaw(raw),
  read: (buf) => Deno.stdin.read(buf),
  write: (text) => void Deno.stderr.writeSync(new TextEncoder().encode(text)),
};

/** Can a password be asked for here? */
export function canPrompt(term: Terminal = STDIO_TERMINAL): boolean {
  return term.isTerminal();
}

/** Reads one line without echo after writing `prompt`. Ctrl-C is an interrupt, Ctrl-D an error. */
export async function promptLine(prompt: string, term: Terminal = STDIO_TERMINAL): Promise<string> {
  // Echo goes off before the prompt shows, so nothing typed after it is echoed.
  term.setRaw(true);
  term.write(prompt);
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    for (;;) {
      const n = await term.read(buf);
      if (n === null) throw new UsageError("No password given: the terminal closed");
      for (const c of buf.subarray(0, n)) {
        if (c === 0x0d || c === 0x0a) return new TextDecoder().decode(new Uint8Array(bytes));
        if (c === 0x03) throw new InterruptedError();
        if (c === 0x04 && bytes.length === 0) {
          throw new UsageError("No password given: the terminal closed");
        }
        if (c === 0x7f || c === 0x08) bytes.pop();
        else if (c >= 0x20 || c === 0x09 || c >= 0x80) bytes.push(c);
      }
    }
  } finally {
    term.setRaw(false);
    term.write("\n");
  }
}

/**
 * Asks for a password; with `confirm`, twice, refusing two that differ and
 * an empty one (a new password is being chosen).
 */
export async function promptPassword(
  what: string,
  opts: { confirm?: boolean; term?: Terminal } = {},
): Promise<string> {
  const pw = await promptLine(`${what}: `, opts.term);
  if (!opts.confirm) return pw;
  if (pw === "") throw new UsageError("Refusing an empty password");
  const again = await promptLine(`${what} again: `, opts.term);
  if (again !== pw) throw new UsageError("The passwords do not match; nothing was changed");
  return pw;
}
