/**
 * fsync of a directory, which makes the entries made, renamed or removed in it
 * durable; a file's own fsync does not cover its name.
 *
 * @module
 */

/** Makes `dir`'s entries durable; the fsync runs off the calling thread. */
export async function syncDir(dir: string): Promise<void> {
  const handle = Deno.openSync(dir, { read: true });
  try {
    await handle.sync();
  } finally {
    handle.close();
  }
}

/** Makes `dir`'s entries durable, blocking the calling thread until the disk answers. */
export function syncDirSync(dir: string): void {
  const handle = Deno.openSync(dir, { read: true });
  try {
    handle.syncSync();
  } finally {
    handle.close();
  }
}
