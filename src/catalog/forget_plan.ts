/**
 * The one retention loop: filter snapshots, group them, decide every group
 * under a policy. `cairn forget` and a job's `keep` both plan with
 * {@linkcode planForget} and only then remove, so a refused group removes
 * nothing at all.
 *
 * @module
 */

import type { SnapshotWithId } from "../repo/mod.ts";
import { printable } from "../text/mod.ts";
import {
  applyRetention,
  type KeepPolicy,
  RetentionError,
  type RetentionInput,
  type RetentionResult,
} from "./retention.ts";
import {
  filterSnapshots,
  type GroupField,
  groupSnapshots,
  type SnapshotFilter,
  type SnapshotGroup,
} from "./retention_group.ts";

/** The retention view of a snapshot. */
export function retentionInput(s: SnapshotWithId): RetentionInput {
  const input: RetentionInput = {
    id: s.id,
    time: new Date(s.time),
    host: s.host,
    paths: s.paths,
    tags: s.tags,
  };
  if (s.job !== undefined) input.job = s.job;
  return input;
}

/** Options for {@linkcode planForget}. */
export interface ForgetPlanOptions {
  /** Only these snapshots are weighed (default: all). */
  filter?: SnapshotFilter;
  /** How snapshots are grouped (default host, paths, job, as restic). */
  groupBy?: readonly GroupField[];
  /** restic's `--unsafe-allow-remove-all`: a policy may empty a group. */
  allowRemoveAll?: boolean;
  /** "Now" for `within*` rules. */
  now?: Date;
}

/** One group's decision. */
export type GroupDecision = RetentionResult & { group: SnapshotGroup };

/**
 * Decides every group before anything is removed. Throws a
 * {@linkcode RetentionError} naming the group when the policy would empty it
 * (unless allowed).
 */
export function planForget(
  snapshots: readonly SnapshotWithId[],
  policy: KeepPolicy,
  opts: ForgetPlanOptions = {},
): GroupDecision[] {
  const weighed = filterSnapshots(snapshots.map(retentionInput), opts.filter ?? {});
  return groupSnapshots(weighed, opts.groupBy).map((group) => {
    try {
      return {
        group,
        ...applyRetention(group.snapshots, policy, {
          allowRemoveAll: opts.allowRemoveAll,
          now: opts.now,
        }),
      };
    } catch (err) {
      const msg = `${groupLabel(group)}: ${(err as Error).message}`;
      if (err instanceof RetentionError) throw new RetentionError(msg, { cause: err });
      throw new Error(msg, { cause: err });
    }
  });
}

/** The ids a plan removes. */
export function removedIds(plan: readonly GroupDecision[]): string[] {
  return plan.flatMap((d) => d.remove.map((s) => s.id));
}

/** A group in words: `snapshots of host "a", paths [/x], job "j"`. */
export function groupLabel(g: SnapshotGroup): string {
  const parts: string[] = [];
  if (g.host !== undefined) parts.push(`host "${printable(g.host)}"`);
  if (g.paths !== undefined) parts.push(`paths [${g.paths.map(printable).join(", ")}]`);
  if (g.tags !== undefined) parts.push(`tags [${g.tags.map(printable).join(", ")}]`);
  if (g.job !== undefined) parts.push(g.job === "" ? "no job" : `job "${printable(g.job)}"`);
  return parts.length ? `snapshots of ${parts.join(", ")}` : "all snapshots";
}
