/**
 * `--exclude-if-present NAME[:HEADER]` and `--exclude-caches`, as restic has
 * them: a directory holding a file NAME is left out; with HEADER, only when
 * that file begins with those bytes (so a stray file of the name is not
 * enough).
 *
 * @module
 */
import { byteFs } from "../platform/mod.ts";

/** The tag the Cache Directory Tagging Specification puts in `CACHEDIR.TAG` (bford.info/cachedir). */
export const CACHEDIR_TAG = "CACHEDIR.TAG:Signature: 8a477f597d28d172789f06886806bc55";

/** Does directory `dir`, whose entries are named `names`, hold one of `markers`? */
export function hasMarker(
  dir: string,
  names: readonly string[],
  markers: readonly string[],
): boolean {
  if (markers.length === 0) return false;
  for (const m of markers) {
    const colon = m.indexOf(":");
    const name = colon === -1 ? m : m.slice(0, colon);
    if (!names.includes(name)) continue;
    if (colon === -1) return true;
    if (startsWith(`${dir}/${name}`, new TextEncoder().encode(m.slice(colon + 1)))) return true;
  }
  return false;
}

function startsWith(path: string, header: Uint8Array): boolean {
  let file: Deno.FsFile | undefined;
  try {
    file = byteFs.openSync(path, { read: true });
    const buf = new Uint8Array(header.length);
    let got = 0;
    while (got < buf.length) {
      const n = file.readSync(buf.subarray(got));
      if (!n) break;
      got += n;
    }
    return got === header.length && buf.every((b, i) => b === header[i]);
  } catch {
    return false; // unreadable: not a marker; the walk reports the file itself
  } finally {
    file?.close();
  }
}
