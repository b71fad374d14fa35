/**
 * Atomic file replacement: readers see the old file or the new one, never a
 * half-written file (status records and the Prometheus textfile are read by
 * other processes at any moment).
 *
 * @module
 */

import { dirname } from "node:path";

/** Writes `text` to a temporary file beside `path`, then renames it over `path`. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { mode: 0o644 });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
