import { formatBytes } from "../text/mod.ts";
import type { MirrorResult } from "./mirror_run.ts";

/** The JSON form of a mirror run, for `--json` summaries. */
export function mirrorSummary(r: MirrorResult): Record<string, unknown> {
  return {
    path: r.path,
    previous: r.previous ?? null,
    ...r.stats,
    errors: r.errors.length,
    removed_versions: r.removedVersions,
  };
}

/** A mirror run in one line, e.g. `Mirror /mnt/m: 3 written (1.2 KiB), 40 unchanged, 1 removed`. */
export function mirrorLine(r: MirrorResult): string {
  const s = r.stats;
  const parts = [`${s.written} written (${formatBytes(s.bytes)})`, `${s.unchanged} unchanged`];
  if (s.retimed) parts.push(`${s.retimed} same bytes, new times`);
  if (s.linked) parts.push(`${s.linked} linked`);
  if (s.symlinks) parts.push(`${s.symlinks} symlinks made`);
  if (s.removed) parts.push(`${s.removed} removed`);
  if (r.errors.length) parts.push(`${r.errors.length} error(s)`);
  if (r.removedVersions.length) parts.push(`${r.removedVersions.length} old version(s) removed`);
  return `Mirror ${r.path}: ${parts.join(", ")}`;
}
