/**
 * The source directory a mirror's root stands for: the deepest directory
 * holding every source (a source directory holds itself). One source
 * directory `/srv/www` is mirrored as `DIR/…`, like `rsync -a /srv/www/ DIR/`;
 * sources `/home/ann` and `/home/bob` become `DIR/ann` and `DIR/bob`.
 */
export function mirrorBase(paths: readonly string[], isDir: (path: string) => boolean): string {
  let common: string[] | undefined;
  for (const p of paths) {
    const parts = p.split("/").filter((s) => s !== "");
    if (!isDir(p)) parts.pop();
    if (!common) common = parts;
    else {
      let i = 0;
      while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
      common = common.slice(0, i);
    }
  }
  return "/" + (common ?? []).join("/");
}
