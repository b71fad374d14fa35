/**
 * `[[job]]` tables.
 *
 * @module
 */

import { parseDuration } from "./duration.ts";
import { parseSchedule } from "./schedule.ts";
import { parseKeep } from "./_parse_keep.ts";
import { type ExpandEnv, expandPath, expandVars } from "./_expand.ts";
import { isTable, Reader, type Table } from "./_reader.ts";
import type { CopyTarget, HookCommand, JobDefinition, MirrorConfig } from "./types.ts";
import { parseByteSize } from "../walker/mod.ts";
import { healthPings } from "./health_ping.ts";

/** Names of jobs and repositories: safe as file names and Prometheus label values. */
export const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

const JOB_KEYS = [
  "name",
  "repository",
  "paths",
  "exclude",
  "exclude_if_present",
  "files_from",
  "exclude_file",
  "iexclude",
  "iexclude_file",
  "exclude_caches",
  "exclude_larger_than",
  "health_url",
  "health_start_url",
  "health_success_url",
  "health_failure_url",
  "one_file_system",
  "schedule",
  "jitter",
  "tags",
  "host",
  "before",
  "after",
  "keep",
  "mirror",
  "command",
  "command_filename",
  "read_special",
  "copy_to",
] as const;

const HEALTH_KEYS = ["health_url", "health_start_url", "health_success_url", "health_failure_url"];
const REMOTE_HEALTH =
  "health pings are not allowed in remote job documents (they would send this host's log; use report_url)";

const MIRROR_PLACEHOLDERS = ["job", "host", "date", "time", "snapshot"];

/** Options the job parser needs from the document parser. */
export interface JobParseContext {
  expand: ExpandEnv;
  repositories: ReadonlySet<string>;
  remote: boolean;
}

/** Validates a name used as a file name and label. */
export function checkName(r: Reader, key: string, name: string) {
  if (!NAME_PATTERN.test(name) || /^\.+$/.test(name)) {
    r.fail([key], `invalid name "${name}": use letters, digits, ".", "_" and "-"`);
  }
}

function parseHooks(r: Reader, key: string): HookCommand[] {
  const v = r.table[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) r.fail([key], "expected an array of commands");
  return v.map((item, i): HookCommand => {
    if (typeof item === "string") {
      if (item.trim() === "") r.fail([key, i], "must not be empty");
      return { display: item, argv: ["/bin/sh", "-c", item] };
    }
    if (
      Array.isArray(item) && item.length > 0 &&
      item.every((a) => typeof a === "string") && item[0] !== ""
    ) {
      return { display: item.join(" "), argv: item as string[] };
    }
    r.fail([key, i], "expected a command string or a non-empty array of strings");
  });
}

function parseMirror(r: Reader, ctx: JobParseContext): MirrorConfig {
  r.onlyKeys(["path", "purge", "keep", "require_mount"]);
  const raw = r.string("path", true);
  // `${VAR}` and `~` are expanded first; the `{job}`-style placeholders left over are checked here.
  const path = r.convert("path", raw, (s) => expandPath(s, ctx.expand));
  for (const m of path.matchAll(/\{([^{}]*)\}|[{}]/g)) {
    if (m[0] === "{" || m[0] === "}") r.fail(["path"], `unbalanced brace in "${raw}"`);
    if (!MIRROR_PLACEHOLDERS.includes(m[1])) {
      r.fail(
        ["path"],
        `unknown placeholder "{${m[1]}}" in "${raw}"; use ${
          MIRROR_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")
        }`,
      );
    }
  }
  const mirror: MirrorConfig = { path, purge: r.boolean("purge", true) };
  const keep = r.subTable("keep");
  if (keep) mirror.keep = parseKeep(r.child("keep", keep));
  const mount = r.string("require_mount");
  if (mount !== undefined) {
    mirror.requireMount = r.convert("require_mount", mount, (s) => expandPath(s, ctx.expand));
    if (!onMount(path, mirror.requireMount)) {
      r.fail(["require_mount"], `mirror path "${raw}" is not on "${mirror.requireMount}"`);
    }
  }
  return mirror;
}

/**
 * Can the mirror path template lie on `mount`? Each of the mount's
 * components must match the template's (a component with a placeholder
 * can match anything until the run expands it; the run checks again).
 */
function onMount(template: string, mount: string): boolean {
  const t = template.split("/").filter((p) => p !== "");
  const m = mount.split("/").filter((p) => p !== "");
  return m.length <= t.length && m.every((p, i) => t[i] === p || t[i].includes("{"));
}

/** `command = [...]` and `command_filename`: a stream backup of the command's stdout. */
function parseCommand(r: Reader): JobDefinition["command"] {
  const name = r.string("command_filename");
  const v = r.table.command;
  if (v === undefined) {
    if (name !== undefined) r.fail(["command_filename"], `has no effect without "command"`);
    return undefined;
  }
  if (!Array.isArray(v) || v.length === 0 || v.some((a) => typeof a !== "string")) {
    r.fail(["command"], `expected a non-empty array of strings, e.g. ["pg_dump", "db"]`);
  }
  const argv = v as string[];
  if (argv[0].trim() === "") r.fail(["command", 0], "must not be empty");
  const file = name ?? "stdin";
  if (file === "" || file === "." || file === ".." || /[/\0]/.test(file)) {
    r.fail(["command_filename"], `"${file}" must be a file name, not a path`);
  }
  return { argv, name: file };
}

/**
 * `copy_to = ["offsite", { repository = "usb", keep = { daily = 7 } }]`:
 * names of the file's other repositories, each once, optionally with a keep table.
 */
function parseCopyTo(r: Reader, own: string, ctx: JobParseContext): CopyTarget[] | undefined {
  const v = r.table.copy_to;
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    r.fail(["copy_to"], `expected an array of repository names, e.g. ["offsite"]`);
  }
  const seen = new Set<string>();
  return v.map((item, i): CopyTarget => {
    let target: CopyTarget;
    if (typeof item === "string") target = { repository: item };
    else if (isTable(item)) {
      const e = new Reader(r.doc, item, [...r.path, "copy_to", i], r.context, [
        ...r.keyPrefix,
        "copy_to",
        i,
      ]);
      e.onlyKeys(["repository", "keep"]);
      target = { repository: e.string("repository", true) };
      const keep = e.subTable("keep");
      if (keep) target.keep = parseKeep(e.child("keep", keep));
    } else {
      r.fail(["copy_to", i], `expected a repository name or { repository = "…", keep = {…} }`);
    }
    const name = target.repository;
    if (!ctx.repositories.has(name)) {
      const known = [...ctx.repositories].map((n) => `"${n}"`).join(", ") || "none";
      r.fail(["copy_to", i], `unknown repository "${name}" (defined: ${known})`);
    }
    if (name === own) {
      r.fail(["copy_to", i], `"${name}" is the job's own repository`);
    }
    if (seen.has(name)) r.fail(["copy_to", i], `repository "${name}" is named twice`);
    seen.add(name);
    return target;
  });
}

/** Reads the `index`-th `[[job]]`. */
export function parseJob(
  doc: Reader["doc"],
  table: unknown,
  index: number,
  ctx: JobParseContext,
): JobDefinition {
  const path = ["job", index];
  const label = `job #${index + 1}`;
  if (!isTable(table)) {
    new Reader(doc, {}, path, label).fail([], "expected a [[job]] table");
  }
  const t = table as Table;
  const nameValue = typeof t.name === "string" && t.name !== "" ? t.name : undefined;
  const r = new Reader(doc, t, path, nameValue ? `job "${nameValue}"` : label);
  r.onlyKeys(
    JOB_KEYS,
    ctx.remote
      ? {
        before:
          "hooks are not allowed in remote job documents (they would run commands as the agent)",
        after:
          "hooks are not allowed in remote job documents (they would run commands as the agent)",
        command: "commands are not allowed in remote job documents (they would run as the agent)",
        files_from:
          "list files are not allowed in remote job documents (their paths escape allow.paths)",
        exclude_file: "list files are not allowed in remote job documents (they read local files)",
        iexclude_file: "list files are not allowed in remote job documents (they read local files)",
        copy_to: "copy_to is not allowed in remote job documents (set it in the local job file)",
        ...Object.fromEntries(HEALTH_KEYS.map((k) => [k, REMOTE_HEALTH])),
      }
      : {},
  );

  const name = r.string("name", true);
  checkName(r, "name", name);

  let repository = r.string("repository");
  if (repository === undefined) {
    // With a single repository, naming it in every job is noise.
    if (ctx.repositories.size !== 1) {
      r.fail(["repository"], "required key is missing (there is not exactly one repository)");
    }
    repository = [...ctx.repositories][0];
  } else if (!ctx.repositories.has(repository)) {
    const known = [...ctx.repositories].map((n) => `"${n}"`).join(", ") || "none";
    r.fail(["repository"], `unknown repository "${repository}" (defined: ${known})`);
  }

  const command = parseCommand(r);
  if (command && r.table.paths !== undefined) {
    r.fail(["command"], `a job backs up either "paths" or a "command"'s output, not both`);
  }
  const listFiles = (key: string) =>
    (r.strings(key, { single: true }) ?? []).map((p, i) =>
      r.convert(key, p, (s) => expandPath(s, ctx.expand), [key, i])
    );
  const filesFrom = listFiles("files_from");
  if (command && filesFrom.length > 0) {
    r.fail(["files_from"], `a "command" job backs up its output, not files`);
  }
  // With files_from, paths may be left out: the list names what to back up.
  const paths = command
    ? ["/" + command.name]
    : (r.strings("paths", { required: filesFrom.length === 0, nonEmpty: true }) ?? []).map((
      p,
      i,
    ) => r.convert("paths", p, (s) => expandPath(s, ctx.expand), ["paths", i]));
  const exclude = (r.strings("exclude") ?? []).map((p, i) =>
    r.convert("exclude", p, (s) => expandVars(s, ctx.expand), ["exclude", i])
  );
  const excludeIfPresent = r.strings("exclude_if_present", { single: true }) ?? [];
  excludeIfPresent.forEach((f, i) => {
    if (f.includes("/")) {
      r.fail(["exclude_if_present", i], `"${f}" must be a file name, not a path`);
    }
  });

  const job: JobDefinition = {
    name,
    repository,
    paths,
    exclude,
    excludeIfPresent,
    ...(filesFrom.length ? { filesFrom } : {}),
    oneFileSystem: r.boolean("one_file_system", false),
    jitterMs: 0,
    tags: r.strings("tags") ?? [],
    before: parseHooks(r, "before"),
    after: parseHooks(r, "after"),
  };
  job.tags.forEach((tag, i) => {
    if (/[,\s]/.test(tag)) r.fail(["tags", i], `tag "${tag}" must not contain commas or spaces`);
  });

  const schedule = r.string("schedule");
  if (schedule !== undefined) {
    r.convert("schedule", schedule, parseSchedule);
    job.schedule = schedule.trim();
  }
  const jitter = r.string("jitter");
  if (jitter !== undefined) job.jitterMs = r.convert("jitter", jitter, parseDuration);
  if (jitter !== undefined && schedule === undefined) {
    r.fail(["jitter"], `has no effect without "schedule"`);
  }

  const host = r.string("host");
  if (host !== undefined) {
    if (/\s/.test(host)) r.fail(["host"], `host "${host}" must not contain spaces`);
    job.host = host;
  }
  const excludeFile = listFiles("exclude_file");
  if (excludeFile.length) job.excludeFile = excludeFile;
  const iexclude = (r.strings("iexclude") ?? []).map((p, i) =>
    r.convert("iexclude", p, (s) => expandVars(s, ctx.expand), ["iexclude", i])
  );
  if (iexclude.length) job.iexclude = iexclude;
  const iexcludeFile = listFiles("iexclude_file");
  if (iexcludeFile.length) job.iexcludeFile = iexcludeFile;
  if (r.boolean("exclude_caches", false)) job.excludeCaches = true;
  const larger = r.table.exclude_larger_than;
  if (larger !== undefined) {
    const n = typeof larger === "number" && Number.isInteger(larger) && larger >= 0
      ? larger
      : typeof larger === "string"
      ? parseByteSize(larger)
      : undefined;
    if (n === undefined) {
      r.fail(["exclude_larger_than"], `expected a size like "2M" or a number of bytes`);
    }
    job.excludeLargerThan = n;
  }
  const url = (key: string) => {
    const v = r.string(key);
    if (v === undefined) return undefined;
    r.convert(key, v, (text) => {
      const u = new URL(text);
      if (u.protocol !== "https:" && u.protocol !== "http:") throw new Error("not an http(s) URL");
      return u;
    });
    return v;
  };
  const health = healthPings(url("health_url"), {
    start: url("health_start_url"),
    success: url("health_success_url"),
    failure: url("health_failure_url"),
  });
  if (Object.keys(health).length > 0) job.health = health;
  if (command) job.command = command;
  if (r.boolean("read_special", false)) job.readSpecial = true;
  if (command && r.table.mirror !== undefined) {
    r.fail(["mirror"], `a "command" job has no files to mirror`);
  }
  const keep = r.subTable("keep");
  if (keep) job.keep = parseKeep(r.child("keep", keep));
  const mirror = r.subTable("mirror");
  if (mirror) job.mirror = parseMirror(r.child("mirror", mirror), ctx);
  const copyTo = parseCopyTo(r, repository, ctx);
  if (copyTo?.length) job.copyTo = copyTo;
  return job;
}
