import {
  describePolicy,
  type GroupDecision,
  groupLabel,
  isEmptyPolicy,
  type KeepPolicy,
  planForget,
  removedIds,
  RetentionError,
} from "../catalog/mod.ts";
import type { GroupField } from "../catalog/retention_group.ts";
import {
  type Command,
  type CommandContext,
  type Flags,
  formatBytes,
  intFlag,
  listFlag,
  openRepository,
  printable,
  snakeCaseKeys,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import { parseDuration } from "../job/mod.ts";
import {
  acquireExclusiveLock,
  pruneRepository,
  type RepoLock,
  type Repository,
  resolveSnapshot,
  type SnapshotWithId,
} from "../repo/mod.ts";
import { localTime } from "./snapshots.ts";

const COUNTS = ["last", "hourly", "daily", "weekly", "monthly", "yearly"] as const;
const WITHINS = {
  "keep-within": "within",
  "keep-within-hourly": "withinHourly",
  "keep-within-daily": "withinDaily",
  "keep-within-weekly": "withinWeekly",
  "keep-within-monthly": "withinMonthly",
  "keep-within-yearly": "withinYearly",
} as const;
const GROUP_FIELDS: readonly GroupField[] = ["host", "paths", "tags", "job"];

/** `cairn forget`: remove snapshots by a retention policy. */
export const forgetCommand: Command = {
  name: "forget",
  summary: "remove snapshots by id or according to a retention policy",
  usage: "cairn forget SNAPSHOT... [--dry-run] [--prune] [--json]\n" +
    "       cairn forget --keep-… [--host H] [--tag T] [--group-by host,paths,job] " +
    "[--unsafe-allow-remove-all] [--dry-run] [--prune] [--json]",
  description: [
    "With SNAPSHOT arguments (ids, unique id prefixes or 'latest'), removes exactly those;",
    "every one must name a snapshot, else nothing is removed.",
    "Otherwise snapshots are grouped (default: by host, paths and job) and the policy is",
    "applied to each group separately, restic-style; every kept snapshot lists the rules",
    "that kept it. A policy that would remove every snapshot of a group is refused unless",
    "--unsafe-allow-remove-all is given (which also lets no --keep-* option remove all).",
    "Only snapshot files are removed: the data stays until 'forget --prune' (or prune).",
  ].join("\n"),
  usesRepository: true,
  options: {
    ...Object.fromEntries(COUNTS.map((k) => [`keep-${k}`, {
      type: "string",
      arg: "N",
      description: k === "last"
        ? "keep the N newest snapshots (-1: all)"
        : `keep the newest snapshot of each of the N newest ${
          k === "daily" ? "days" : k.replace(/ly$/, "s")
        }`,
    }])),
    ...Object.fromEntries(
      Object.keys(WITHINS).map((k) => [k, {
        type: "string",
        arg: "DURATION",
        description: k === "keep-within"
          ? "keep snapshots newer than the newest minus DURATION (e.g. 30d)"
          : `keep the newest ${k.slice("keep-within-".length)} snapshot within DURATION`,
      }]),
    ),
    "keep-tag": {
      type: "string",
      multiple: true,
      arg: "T[,T…]",
      description: "keep snapshots carrying all these tags (repeatable)",
    },
    host: {
      type: "string",
      multiple: true,
      arg: "HOST",
      description: "only consider snapshots of this host (repeatable)",
    },
    tag: {
      type: "string",
      multiple: true,
      arg: "T[,T…]",
      description: "only consider snapshots with these tags (repeatable)",
    },
    "group-by": {
      type: "string",
      arg: "FIELDS",
      description: "group by these of host,paths,tags,job (default host,paths,job)",
    },
    "dry-run": { type: "boolean", short: "n", description: "only show what would be removed" },
    "unsafe-allow-remove-all": {
      type: "boolean",
      description: "let the policy remove every snapshot of a group (no --keep-*: all of them)",
    },
    prune: {
      type: "boolean",
      description: "then remove data no snapshot needs (with --json: a second line of stats)",
    },
  } satisfies Command["options"],
  async run(ctx) {
    const byId = ctx.positionals.length > 0;
    if (byId) refuseSelection(ctx.flags);
    const allowRemoveAll = ctx.flags["unsafe-allow-remove-all"] === true;
    const policy = byId ? {} : policyFromFlags(ctx.flags, allowRemoveAll);
    const by = groupBy(stringFlag(ctx.flags, "group-by"));
    const dryRun = ctx.flags["dry-run"] === true;
    const repo = await openRepository(ctx);
    // Lock before forgetting: a prune that cannot run must not leave the snapshots removed.
    const lock = ctx.flags.prune && !dryRun
      ? await acquireExclusiveLock(repo, { signal: ctx.signal, onWarning: repo.onWarning })
      : undefined;
    try {
      if (byId) await forgetIds(ctx, repo, dryRun, lock);
      else await forget(ctx, repo, policy, by, dryRun, lock, allowRemoveAll);
      return await pruneAfter(ctx, repo, dryRun, lock);
    } finally {
      await lock?.release();
    }
  },
};

/** Snapshot ids select what to forget by themselves: policy and filter options are refused. */
function refuseSelection(flags: Flags) {
  const selecting = Object.keys(flags).filter((f) =>
    flags[f] !== undefined &&
    (f.startsWith("keep-") || ["host", "tag", "group-by", "unsafe-allow-remove-all"].includes(f))
  );
  if (selecting.length > 0) {
    throw new UsageError(
      `--${selecting[0]} cannot be combined with SNAPSHOT arguments: give either ids or a policy`,
    );
  }
}

/** `forget SNAPSHOT...`: resolves every argument first, so one unknown id removes nothing. */
async function forgetIds(
  ctx: CommandContext,
  repo: Repository,
  dryRun: boolean,
  lock: RepoLock | undefined,
): Promise<void> {
  const listed = await repo.listSnapshots({ strict: lock !== undefined });
  const chosen = new Map<string, SnapshotWithId>();
  for (const ref of ctx.positionals) {
    const s = resolveSnapshot(listed, ref);
    chosen.set(s.id, s);
  }
  const ids = [...chosen.keys()];
  if (!dryRun) await removeSnapshots(ctx, repo, ids);
  if (ctx.flags.json) {
    ctx.output.out(JSON.stringify({
      dry_run: dryRun,
      removed: [...chosen.values()].map((s) => ({
        id: s.id,
        short_id: s.id.slice(0, 8),
        time: s.time,
        host: s.host,
      })),
    }));
    return;
  }
  for (const s of chosen.values()) {
    ctx.output.out(
      `${dryRun ? "would remove" : "removed"} snapshot ${s.id.slice(0, 8)}  ${localTime(s.time)}  ${
        printable(s.host)
      }`,
    );
  }
  ctx.output.out(
    `${dryRun ? "would remove" : "removed"} ${plural(ids.length, "snapshot")}${
      dryRun ? " (dry run)" : ""
    }`,
  );
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

/** Removes snapshot files, checking for Ctrl-C between them. */
function removeSnapshots(ctx: CommandContext, repo: Repository, ids: string[]) {
  return repo.removeSnapshots(ids, { signal: ctx.signal });
}

async function forget(
  ctx: CommandContext,
  repo: Repository,
  policy: KeepPolicy,
  by: GroupField[],
  dryRun: boolean,
  lock: RepoLock | undefined,
  allowRemoveAll: boolean,
): Promise<void> {
  // The prune after it must read every snapshot: find out before forgetting any.
  const listed = await repo.listSnapshots({ strict: lock !== undefined });
  // Every group is decided before anything is removed: a refused group removes nothing at all.
  const decided = plan(listed, policy, {
    filter: { hosts: listFlag(ctx.flags, "host"), tags: listFlag(ctx.flags, "tag") },
    groupBy: by,
    allowRemoveAll,
  });
  const removed = dryRun ? [] : removedIds(decided);
  await removeSnapshots(ctx, repo, removed);
  const json = ctx.flags.json === true;
  if (json) ctx.output.out(JSON.stringify(decided.map((d) => groupJson(d, by))));
  else {
    ctx.output.out(`Applying policy: ${describePolicy(policy)}`);
    for (const d of decided) printGroup(ctx.output.out, d);
    const total = decided.reduce((n, d) => n + d.remove.length, 0);
    ctx.output.out(
      dryRun
        ? `would remove ${total} snapshot${total === 1 ? "" : "s"} (dry run)`
        : `removed ${removed.length} snapshot${removed.length === 1 ? "" : "s"}`,
    );
  }
}

/** `--prune`: the prune after forgetting, under the lock taken before it. */
async function pruneAfter(
  ctx: CommandContext,
  repo: Repository,
  dryRun: boolean,
  lock: RepoLock | undefined,
): Promise<number> {
  const json = ctx.flags.json === true;
  if (ctx.flags.prune) {
    if (dryRun) {
      ctx.output.err("prune skipped: nothing was forgotten in a dry run");
      return 0;
    }
    const stats = await pruneRepository(repo, {
      lock,
      signal: ctx.signal,
      onProgress: (m) => ctx.output.status(`prune: ${m}`),
    });
    if (json) ctx.output.out(JSON.stringify({ prune: snakeCaseKeys(stats) }));
    else {
      ctx.output.out(
        `prune: deleted ${stats.packsDeleted} pack(s), freed ${formatBytes(stats.bytesFreed)}; ` +
          `${stats.packsPending} pack(s) (${formatBytes(stats.bytesPending)}) ` +
          "are deleted by a prune after the grace period",
      );
    }
  }
  return 0;
}

/** The policy the `--keep-*` flags give; UsageError when they keep nothing (unless allowed). */
export function policyFromFlags(flags: Flags, allowEmpty = false): KeepPolicy {
  const policy: KeepPolicy = {};
  for (const k of COUNTS) {
    const v = stringFlag(flags, `keep-${k}`);
    if (v === undefined) continue;
    policy[k] = v === "-1" ? -1 : intFlag(flags, `keep-${k}`)!;
  }
  for (const [flag, field] of Object.entries(WITHINS)) {
    const v = stringFlag(flags, flag);
    if (v === undefined) continue;
    try {
      policy[field] = parseDuration(v);
    } catch (err) {
      throw new UsageError(`--${flag}: ${(err as Error).message}`, { cause: err });
    }
    if (policy[field]! <= 0) throw new UsageError(`--${flag} must be longer than 0`);
  }
  const tags = listFlag(flags, "keep-tag");
  if (tags.length) policy.tags = tags;
  if (isEmptyPolicy(policy) && !allowEmpty) {
    throw new UsageError(
      "no --keep-* option given, nor a SNAPSHOT: refusing to remove every snapshot " +
        "(see 'cairn forget --help')",
    );
  }
  return policy;
}

function groupBy(text: string | undefined): GroupField[] {
  if (text === undefined) return ["host", "paths", "job"];
  if (text.trim() === "") return [];
  return text.split(",").map((f) => {
    const field = f.trim() as GroupField;
    if (!GROUP_FIELDS.includes(field)) {
      throw new UsageError(
        `--group-by: unknown field "${printable(f)}" (use ${GROUP_FIELDS.join(",")})`,
      );
    }
    return field;
  });
}

/** planForget(), with restic's hint when a policy would empty a group. */
function plan(...args: Parameters<typeof planForget>): GroupDecision[] {
  try {
    return planForget(...args);
  } catch (err) {
    if (!(err instanceof RetentionError)) throw err;
    throw new Error(`${err.message}; --unsafe-allow-remove-all allows it`, { cause: err });
  }
}

function printGroup(out: (l: string) => void, d: GroupDecision) {
  out("");
  out(`${groupLabel(d.group)}:`);
  out(`keep ${d.keep.length} snapshot${d.keep.length === 1 ? "" : "s"}:`);
  for (const k of d.keep) {
    out(
      `  ${k.snapshot.id.slice(0, 8)}  ${localTime(k.snapshot.time.toISOString())}  ${
        k.reasons.join(", ")
      }`,
    );
  }
  if (d.remove.length) {
    out(`remove ${d.remove.length} snapshot${d.remove.length === 1 ? "" : "s"}:`);
    for (const s of d.remove) out(`  ${s.id.slice(0, 8)}  ${localTime(s.time.toISOString())}`);
  }
}

function groupJson(d: GroupDecision, by: GroupField[]) {
  const g = d.group;
  const snap = (s: { id: string; time: Date }) => ({
    id: s.id,
    short_id: s.id.slice(0, 8),
    time: s.time.toISOString(),
  });
  return {
    group: Object.fromEntries(by.map((f) => [f, g[f] ?? null])),
    keep: d.keep.map((k) => ({ ...snap(k.snapshot), reasons: k.reasons })),
    remove: d.remove.map(snap),
  };
}
