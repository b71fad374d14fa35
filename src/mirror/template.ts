import { MARKER_NAME, type MirrorMarker, readMarker } from "./marker.ts";

/** The values a mirror path template's placeholders take for one run. */
export interface TemplateValues {
  job?: string;
  host: string;
  /** The snapshot's time: `{date}` is its local `YYYY-MM-DD`, `{time}` its `HH-MM-SS`. */
  time: Date;
  /** `{snapshot}`: the first 8 hex digits of the snapshot id. */
  snapshot?: string;
}

/** Placeholders that change from run to run: a template with one makes versioned mirrors. */
const PER_RUN = ["date", "time", "snapshot"];
const PLACEHOLDER = /\{(job|host|date|time|snapshot)\}/g;

/** Does each run get its own folder? */
export function isVersioned(template: string): boolean {
  return [...template.matchAll(PLACEHOLDER)].some((m) => PER_RUN.includes(m[1]));
}

/** Makes a value safe as (part of) one path component. */
function component(v: string): string {
  const s = v.replaceAll("/", "_").replaceAll("\0", "_");
  return s === "" || s === "." || s === ".." ? "_" : s;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** The template with every placeholder replaced; TypeError when a value is missing. */
export function expandTemplate(template: string, v: TemplateValues): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    switch (name) {
      case "job":
        if (v.job === undefined) {
          throw new TypeError(`Mirror path ${template} uses {job}, but this backup has no job`);
        }
        return component(v.job);
      case "host":
        return component(v.host);
      case "date":
        return `${v.time.getFullYear()}-${pad(v.time.getMonth() + 1)}-${pad(v.time.getDate())}`;
      case "time":
        return `${pad(v.time.getHours())}-${pad(v.time.getMinutes())}-${pad(v.time.getSeconds())}`;
      default:
        if (v.snapshot === undefined) throw new TypeError(`{snapshot} has no value yet`);
        return component(v.snapshot.slice(0, 8));
    }
  });
}

/** The path components of an absolute template, the first per-run one at `first`. */
function split(template: string): { parts: string[]; first: number } {
  const parts = template.split("/").filter((p) => p !== "");
  return { parts, first: parts.findIndex(isVersioned) };
}

/** The folder that holds every version of a versioned template (no per-run placeholder). */
export function versionsFolder(template: string, v: TemplateValues): string {
  const { parts, first } = split(template);
  return "/" + parts.slice(0, first).map((p) => expandTemplate(p, v)).join("/");
}

/** One earlier run's folder of a versioned mirror. */
export interface MirrorVersion {
  path: string;
  marker: MirrorMarker;
}

/**
 * The finished versions of `template` for this job: folders below its
 * versions folder that match the template and whose marker names the same
 * template and job. Oldest first.
 */
export function findVersions(template: string, v: TemplateValues): MirrorVersion[] {
  const { parts, first } = split(template);
  const levels = parts.slice(first).map((p) => {
    let re = "";
    let at = 0;
    for (const m of p.matchAll(PLACEHOLDER)) {
      re += escape(p.slice(at, m.index)) +
        (PER_RUN.includes(m[1]) ? ".+" : escape(expandTemplate(m[0], v)));
      at = m.index! + m[0].length;
    }
    return new RegExp(`^${re}${escape(p.slice(at))}$`);
  });
  const found: MirrorVersion[] = [];
  const walk = (dir: string, level: number) => {
    if (level === levels.length) {
      let marker: ReturnType<typeof readMarker>;
      try {
        marker = readMarker(dir);
      } catch {
        return; // a marker that is no regular file: not one of ours
      }
      if (
        marker && marker !== "invalid" && marker.complete && marker.template === template &&
        marker.job === (v.job ?? null) && marker.time !== null
      ) found.push({ path: dir, marker });
      return;
    }
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory && e.name !== MARKER_NAME && levels[level].test(e.name)) {
        walk(`${dir === "/" ? "" : dir}/${e.name}`, level + 1);
      }
    }
  };
  walk(versionsFolder(template, v), 0);
  return found.sort((a, b) => Date.parse(a.marker.time!) - Date.parse(b.marker.time!));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
