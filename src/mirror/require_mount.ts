import { dirname, resolve } from "node:path";
import { MirrorRefusedError } from "./marker.ts";

/**
 * Is `path` a mount point? True for `/` and for a directory whose device
 * (`st_dev`) differs from its parent's, after links are resolved. A bind
 * mount of a directory of the same filesystem is not seen as one (the
 * device is the same), which errs on the side of refusing.
 *
 * @throws {Deno.errors.NotFound} when `path` does not exist.
 */
export function isMountPoint(path: string): boolean {
  const real = Deno.realPathSync(path);
  if (real === "/") return true;
  return Deno.statSync(real).dev !== Deno.statSync(dirname(real)).dev;
}

/**
 * Refuses, before anything is written, to mirror into `dir` unless `mount`
 * is a mount point and `dir` is `mount` or below it: a mirror on a disk that
 * is not mounted would otherwise fill the directory underneath (and the
 * filesystem holding it). Paths are compared as written, after `.` and `..`.
 *
 * @throws {MirrorRefusedError} with a one-line reason.
 */
export function requireMount(mount: string, dir: string): void {
  const m = resolve(mount);
  const d = resolve(dir);
  if (d !== m && !d.startsWith(m === "/" ? "/" : `${m}/`)) {
    throw new MirrorRefusedError(
      `Refusing to mirror into ${d}: it is not on the required mount point ${m}`,
    );
  }
  let mounted: boolean;
  try {
    mounted = isMountPoint(m);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new MirrorRefusedError(
        `Refusing to mirror into ${d}: ${m} does not exist (is the disk mounted?)`,
      );
    }
    throw new MirrorRefusedError(
      `Refusing to mirror into ${d}: cannot tell whether ${m} is a mount point: ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
  if (!mounted) {
    throw new MirrorRefusedError(
      `Refusing to mirror into ${d}: ${m} is not a mount point (is the disk mounted?)`,
    );
  }
}
