/**
 * How snapshots appear as folders, in WebDAV and in the page's links:
 * `HOST/JOB/TIME`, with TIME the snapshot's UTC time without colons
 * (`2026-12-02T17-05-09Z`, which every file system can hold), and the
 * snapshot id's first 8 digits added when two share a second.
 */
import type { SnapshotWithId } from "../repo/mod.ts";

/** The JOB folder of a snapshot made without a job. */
export const NO_JOB = "_";

/** One snapshot's place in the `HOST/JOB/TIME` hierarchy. */
export interface SnapshotPlace {
  host: string;
  job: string;
  time: string;
  snapshot: SnapshotWithId;
}

/** `2026-12-02T17:05:09.123Z` → `2026-12-02T17-05-09Z`. */
export function timeName(iso: string): string {
  const d = new Date(iso);
  return d.toISOString().replace(/\.\d+Z$/, "Z").replaceAll(":", "-");
}

/** Every snapshot's place, sorted by host, job and time. Names are unique within a folder. */
export function snapshotPlaces(snapshots: readonly SnapshotWithId[]): SnapshotPlace[] {
  const sorted = [...snapshots].sort((a, b) =>
    a.host.localeCompare(b.host) || (a.job ?? "").localeCompare(b.job ?? "") ||
    a.time.localeCompare(b.time) || a.id.localeCompare(b.id)
  );
  const places = sorted.map((s) => ({
    host: folderName(s.host),
    job: s.job ? folderName(s.job) : NO_JOB,
    time: timeName(s.time),
    snapshot: s,
  }));
  const count = new Map<string, number>();
  const key = (p: SnapshotPlace) => `${p.host}\0${p.job}\0${p.time}`;
  for (const p of places) count.set(key(p), (count.get(key(p)) ?? 0) + 1);
  for (const p of places) if (count.get(key(p))! > 1) p.time += `-${p.snapshot.id.slice(0, 8)}`;
  return places;
}

/** A host or job name as one path component: `/` and NUL become `_`, `.` and `..` are prefixed. */
function folderName(name: string): string {
  const n = name.replace(/[/\0]/g, "_");
  return n === "" || n === "." || n === ".." ? `_${n}` : n;
}
