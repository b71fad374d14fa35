/**
 * Snapshots read-only over WebDAV (RFC 4918 class 1), at
 * `/dav/HOST/JOB/TIME/PATH`: PROPFIND of depth 0 or 1, GET (with a Range)
 * and HEAD of files, OPTIONS; every other method is 405. Enough for davfs2,
 * rclone, Finder and Windows Explorer to mount a snapshot with no FUSE.
 * Only files and directories appear; links and special files are left out.
 */
import { findPath } from "../catalog/mod.ts";
import { type Node, nsToDate, type SnapshotWithId } from "../repo/mod.ts";
import { fileETag, fileResponse } from "./file_response.ts";
import { escapeHtml, escapeXml } from "../text/mod.ts";
import { type SnapshotPlace, snapshotPlaces } from "./snapshot_names.ts";
import type { UiRepo } from "./ui_repo.ts";

/** Where WebDAV is served. */
export const DAV_PREFIX = "/dav";

const ALLOW = "OPTIONS, GET, HEAD, PROPFIND";

/** One resource: a folder of the hierarchy, or an entry of a snapshot. */
interface Resource {
  /** Its path below {@link DAV_PREFIX}, decoded components. */
  parts: string[];
  collection: boolean;
  mtime: Date;
  node?: Node;
  /** The snapshot it belongs to (for entries and TIME folders). */
  snapshot?: SnapshotWithId;
}

/** Answers one request below {@link DAV_PREFIX}. */
export async function handleDav(
  req: Request,
  repo: UiRepo,
  snapshots: () => Promise<SnapshotWithId[]>,
  headers: Record<string, string>,
): Promise<Response> {
  const url = new URL(req.url);
  const parts = decodeParts(url.pathname.slice(DAV_PREFIX.length));
  if (parts === undefined) return text(400, "malformed path", headers);
  if (req.method === "OPTIONS") {
    return new Response(null, {
      status: 200,
      headers: { ...headers, dav: "1", allow: ALLOW, "ms-author-via": "DAV" },
    });
  }
  if (!["GET", "HEAD", "PROPFIND"].includes(req.method)) {
    return text(405, "read-only: snapshots cannot be changed", { ...headers, allow: ALLOW });
  }
  const places = snapshotPlaces(await snapshots());
  const res = await resolve(repo, places, parts);
  if (!res) return text(404, "not found", headers);
  if (req.method === "PROPFIND") {
    const depth = req.headers.get("depth") ?? "infinity";
    if (depth !== "0" && depth !== "1") {
      return xml(403, `<d:error xmlns:d="DAV:"><d:propfind-finite-depth/></d:error>`, headers);
    }
    const all = [res];
    if (depth === "1" && res.collection) all.push(...await children(repo, places, res));
    const body = await multistatus(all);
    return xml(207, body, headers);
  }
  if (res.collection) {
    if (!url.pathname.endsWith("/")) {
      return new Response(null, {
        status: 301,
        headers: { ...headers, location: href(res) },
      });
    }
    return listingPage(res, await children(repo, places, res), headers);
  }
  return fileResponse(repo, res.node!, req, headers);
}

function decodeParts(path: string): string[] | undefined {
  try {
    return path.split("/").filter((p) => p !== "").map(decodeURIComponent);
  } catch {
    return undefined;
  }
}

async function resolve(
  repo: UiRepo,
  places: SnapshotPlace[],
  parts: string[],
): Promise<Resource | undefined> {
  const [host, job, time, ...rest] = parts;
  const newest = (ps: SnapshotPlace[]) =>
    new Date(Math.max(0, ...ps.map((p) => Date.parse(p.snapshot.time))));
  if (host === undefined) return { parts, collection: true, mtime: newest(places) };
  const ofHost = places.filter((p) => p.host === host);
  if (ofHost.length === 0) return undefined;
  if (job === undefined) return { parts, collection: true, mtime: newest(ofHost) };
  const ofJob = ofHost.filter((p) => p.job === job);
  if (ofJob.length === 0) return undefined;
  if (time === undefined) return { parts, collection: true, mtime: newest(ofJob) };
  const place = ofJob.find((p) => p.time === time);
  if (!place) return undefined;
  const snapshot = place.snapshot;
  if (rest.length === 0) {
    return { parts, collection: true, mtime: new Date(snapshot.time), snapshot };
  }
  const node = await findPath(repo, snapshot, "/" + rest.join("/"));
  if (!node || (node.type !== "file" && node.type !== "dir")) return undefined;
  return { parts, collection: node.type === "dir", mtime: nsToDate(node.mtime), node, snapshot };
}

async function children(
  repo: UiRepo,
  places: SnapshotPlace[],
  res: Resource,
): Promise<Resource[]> {
  const [host, job] = res.parts;
  const folder = (name: string, ps: SnapshotPlace[]): Resource => ({
    parts: [...res.parts, name],
    collection: true,
    mtime: new Date(Math.max(0, ...ps.map((p) => Date.parse(p.snapshot.time)))),
  });
  if (res.parts.length === 0) {
    const hosts = [...new Set(places.map((p) => p.host))];
    return hosts.map((h) => folder(h, places.filter((p) => p.host === h)));
  }
  if (res.parts.length === 1) {
    const ofHost = places.filter((p) => p.host === host);
    const jobs = [...new Set(ofHost.map((p) => p.job))];
    return jobs.map((j) => folder(j, ofHost.filter((p) => p.job === j)));
  }
  if (res.parts.length === 2) {
    return places.filter((p) => p.host === host && p.job === job).map((p) => ({
      parts: [...res.parts, p.time],
      collection: true,
      mtime: new Date(p.snapshot.time),
      snapshot: p.snapshot,
    }));
  }
  const subtree = res.node ? res.node.subtree : res.snapshot!.tree;
  if (!subtree) return [];
  const tree = await repo.loadTree(subtree);
  return tree.nodes.filter((n) => n.type === "file" || n.type === "dir").map((n) => ({
    parts: [...res.parts, n.name],
    collection: n.type === "dir",
    mtime: nsToDate(n.mtime),
    node: n,
    snapshot: res.snapshot,
  }));
}

function href(r: Resource): string {
  const path = r.parts.map((p) => encodeURIComponent(p.toWellFormed())).join("/");
  return `${DAV_PREFIX}/${path}${r.collection && path !== "" ? "/" : ""}`;
}

async function multistatus(all: Resource[]): Promise<string> {
  const out = [`<?xml version="1.0" encoding="utf-8"?>`, `<d:multistatus xmlns:d="DAV:">`];
  for (const r of all) {
    const name = r.parts.at(-1) ?? "";
    const props = [
      `<d:displayname>${escapeXml(name)}</d:displayname>`,
      `<d:getlastmodified>${r.mtime.toUTCString()}</d:getlastmodified>`,
      `<d:creationdate>${r.mtime.toISOString()}</d:creationdate>`,
    ];
    if (r.collection) props.push(`<d:resourcetype><d:collection/></d:resourcetype>`);
    else {
      props.push(
        `<d:resourcetype/>`,
        `<d:getcontentlength>${r.node?.size ?? 0}</d:getcontentlength>`,
        `<d:getcontenttype>application/octet-stream</d:getcontenttype>`,
        `<d:getetag>${escapeXml(await fileETag(r.node!))}</d:getetag>`,
      );
    }
    out.push(
      `<d:response><d:href>${escapeXml(href(r))}</d:href><d:propstat><d:prop>${
        props.join("")
      }</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`,
    );
  }
  out.push(`</d:multistatus>`);
  return out.join("\n");
}

function listingPage(res: Resource, kids: Resource[], headers: Record<string, string>) {
  const title = "/" + res.parts.join("/");
  const rows = kids.map((k) =>
    `<li><a href="${escapeHtml(href(k))}">${escapeHtml(k.parts.at(-1)!)}${
      k.collection ? "/" : ""
    }</a></li>`
  );
  const body = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><h1>${
    escapeHtml(title)
  }</h1><ul>${rows.join("")}</ul>`;
  return new Response(body, {
    headers: { ...headers, "content-type": "text/html; charset=utf-8" },
  });
}

function xml(status: number, body: string, headers: Record<string, string>): Response {
  return new Response(body, {
    status,
    headers: { ...headers, "content-type": "application/xml; charset=utf-8" },
  });
}

function text(status: number, body: string, headers: Record<string, string>): Response {
  return new Response(body + "\n", {
    status,
    headers: { ...headers, "content-type": "text/plain; charset=utf-8" },
  });
}
