import type { Node } from "../repo/mod.ts";
import { byteFs, isByteName } from "../platform/mod.ts";

/** Major and minor numbers of a Linux dev_t (glibc's encoding). */
export function splitDev(rdev: number): { major: number; minor: number } {
  const r = BigInt(rdev);
  const major = Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn));
  const minor = Number((r & 0xffn) | ((r >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * Creates a FIFO or device node at `path` with `mkfifo`/`mknod` (Deno has no
 * API for either), owner-only until the restorer applies the node's mode.
 * The path is absolute, so it cannot be taken for an option.
 */
export async function makeSpecial(path: string, node: Node): Promise<void> {
  if (isByteName(path)) {
    // A name that is not UTF-8 cannot be passed to a command: mknod(2) makes it.
    const type = { fifo: 0o010000, chardev: 0o020000, blockdev: 0o060000 }[node.type as string];
    if (type === undefined) throw new TypeError(`Cannot create a ${node.type} node`);
    return byteFs.mknodSync(path, type | 0o600, node.type === "fifo" ? 0 : node.rdev ?? 0);
  }
  let args: string[];
  let cmd: string;
  if (node.type === "fifo") {
    cmd = "mkfifo";
    args = ["-m", "600", "--", path];
  } else if (node.type === "chardev" || node.type === "blockdev") {
    const { major, minor } = splitDev(node.rdev ?? 0);
    cmd = "mknod";
    args = ["-m", "600", "--", path, node.type === "chardev" ? "c" : "b", `${major}`, `${minor}`];
  } else {
    throw new TypeError(`Cannot create a ${node.type} node`);
  }
  const out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim().split("\n")[0] ||
      `exit code ${out.code}`;
    throw new Error(`${cmd} failed: ${why}`);
  }
}
