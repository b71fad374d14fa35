/**
 * The JSON API the page calls (`/api/...`), and the downloads. Each handler
 * is a function of the request: snapshots are named by full id, paths are
 * absolute snapshot paths.
 */
import { diffSnapshots, diffSummary, find, findPath, splitPath } from "../catalog/mod.ts";
import { ARCHIVE_FORMATS, type ArchiveFormat, writeArchive } from "../dump/mod.ts";
import { type Node, nsToDate, type SnapshotWithId } from "../repo/mod.ts";
import { attachment, fileResponse } from "./file_response.ts";
import { RestoreRequestError, type Restores } from "./restores.ts";
import { snapshotPlaces } from "./snapshot_names.ts";
import type { UiRepo } from "./ui_repo.ts";

/** A request the API refuses, with its status. */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Entries a diff or a search returns at most (the page says when there were more). */
export const MAX_LISTED = 5000;

/** What the handlers share. */
export interface ApiContext {
  repo: UiRepo;
  snapshots: () => Promise<SnapshotWithId[]>;
  restores: Restores;
  headers: Record<string, string>;
  signal?: AbortSignal;
}

/** Answers one request below `/api/`. */
export async function handleApi(req: Request, ctx: ApiContext): Promise<Response> {
  const url = new URL(req.url);
  const q = url.searchParams;
  const route = url.pathname.slice("/api/".length);
  const get = req.method === "GET" || req.method === "HEAD";
  if (route === "restore" && req.method === "POST") return startRestore(req, ctx);
  if (!get) throw new ApiError(405, `${req.method} is not allowed here`);
  switch (route) {
    case "snapshots":
      return json(ctx, { snapshots: snapshotPlaces(await ctx.snapshots()).map(snapshotJson) });
    case "ls": {
      const { node, path } = await entryAt(ctx, q);
      if (node.type !== "dir") throw new ApiError(400, `${path} is not a directory`);
      const tree = node.subtree ? await ctx.repo.loadTree(node.subtree) : { nodes: [] };
      return json(ctx, { path, entries: tree.nodes.map(nodeJson) });
    }
    case "file": {
      const { node, path } = await entryAt(ctx, q);
      if (node.type !== "file") throw new ApiError(400, `${path} is a ${node.type}, not a file`);
      return fileResponse(ctx.repo, node, req, {
        ...ctx.headers,
        "content-disposition": attachment(node.name),
      });
    }
    case "archive":
      return archive(req, ctx, q);
    case "diff": {
      const a = await snapshotById(ctx, q.get("a"));
      const b = await snapshotById(ctx, q.get("b"));
      const entries = await diffSnapshots(ctx.repo, a, b, { signal: req.signal });
      return json(ctx, {
        a: a.id,
        b: b.id,
        summary: diffSummary(entries),
        total: entries.length,
        entries: entries.slice(0, MAX_LISTED).map((e) => ({
          path: e.path,
          change: e.change,
          details: e.details,
          type: (e.after ?? e.before)?.type,
          size: (e.after ?? e.before)?.size,
        })),
      });
    }
    case "find": {
      const glob = q.get("glob") ?? "";
      if (glob.trim() === "") throw new ApiError(400, "give a name or glob to search for");
      const r = await find(ctx.repo, await ctx.snapshots(), glob, { signal: req.signal });
      return json(ctx, {
        glob,
        total: r.byPath.length,
        paths: r.byPath.slice(0, MAX_LISTED).map((p) => ({
          path: p.path,
          versions: p.versions.map((v) => ({
            ...nodeJson(v.node),
            snapshots: v.snapshots,
            first: v.first,
            last: v.last,
          })),
        })),
      });
    }
    case "restore": {
      const status = ctx.restores.get(q.get("id") ?? "");
      if (!status) throw new ApiError(404, "no such restore");
      return json(ctx, status);
    }
  }
  throw new ApiError(404, "no such page");
}

async function snapshotById(ctx: ApiContext, id: string | null): Promise<SnapshotWithId> {
  const s = (await ctx.snapshots()).find((s) => s.id === id);
  if (!s) throw new ApiError(404, `no snapshot ${JSON.stringify(id ?? "")}`);
  return s;
}

async function entryAt(ctx: ApiContext, q: URLSearchParams) {
  const snapshot = await snapshotById(ctx, q.get("snapshot"));
  const path = "/" + splitPath(q.get("path") ?? "/").join("/");
  const node = await findPath(ctx.repo, snapshot, path);
  if (!node) throw new ApiError(404, `no ${path} in snapshot ${snapshot.id.slice(0, 8)}`);
  return { snapshot, path, node };
}

async function archive(req: Request, ctx: ApiContext, q: URLSearchParams): Promise<Response> {
  const format = q.get("format") ?? "";
  if (!(ARCHIVE_FORMATS as readonly string[]).includes(format)) {
    throw new ApiError(400, `format must be one of ${ARCHIVE_FORMATS.join(", ")}`);
  }
  const { node, path, snapshot } = await entryAt(ctx, q);
  const name = splitPath(path).at(-1) ?? "";
  const fileName = `${name || `snapshot-${snapshot.id.slice(0, 8)}`}.${format}`;
  // The archive is written as it is read: the writer waits while the client is slow.
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(
    undefined,
    { highWaterMark: 1 },
    { highWaterMark: 1 },
  );
  const writer = writable.getWriter();
  if (req.method !== "HEAD") {
    writeArchive(ctx.repo, node, name, {
      format: format as ArchiveFormat,
      // The writer may reuse its buffers once a write resolves; the stream holds on.
      write: (b) => writer.write(b.slice()),
      signal: req.signal,
      // A damaged blob fails the download (no zeros handed out as the file's bytes).
      onDamaged: (p) => {
        throw new Error(`${p}: damaged data`);
      },
    }).then(() => writer.close(), (err) => writer.abort(err)).catch(() => {});
  }
  return new Response(readable, {
    headers: {
      ...ctx.headers,
      "content-type": format === "zip" ? "application/zip" : "application/x-tar",
      "content-disposition": attachment(fileName),
      "transfer-encoding": "chunked",
    },
  });
}

async function startRestore(req: Request, ctx: ApiContext): Promise<Response> {
  if (!/^application\/json\b/i.test(req.headers.get("content-type") ?? "")) {
    throw new ApiError(415, "send the restore as application/json");
  }
  let body: { snapshot?: unknown; path?: unknown; target?: unknown; overwrite?: unknown };
  try {
    body = await req.json();
  } catch {
    throw new ApiError(400, "malformed JSON");
  }
  const q = new URLSearchParams();
  q.set("snapshot", String(body.snapshot ?? ""));
  q.set("path", String(body.path ?? "/"));
  const { snapshot, path, node } = await entryAt(ctx, q);
  try {
    const status = ctx.restores.start(
      snapshot,
      path,
      node,
      String(body.target ?? ""),
      body.overwrite === undefined ? undefined : String(body.overwrite),
    );
    return json(ctx, status, 202);
  } catch (err) {
    if (err instanceof RestoreRequestError) throw new ApiError(400, err.message);
    throw err;
  }
}

function snapshotJson(p: ReturnType<typeof snapshotPlaces>[number]) {
  const s = p.snapshot;
  return {
    id: s.id,
    time: s.time,
    host: s.host,
    job: s.job ?? null,
    paths: s.paths,
    tags: s.tags,
    incomplete: s.incomplete !== undefined,
    summary: s.summary ?? null,
    dav: `/dav/${
      [p.host, p.job, p.time].map((x) => encodeURIComponent(x.toWellFormed())).join("/")
    }/`,
  };
}

function nodeJson(n: Node) {
  return {
    name: n.name,
    type: n.type,
    size: n.size ?? null,
    mode: n.mode,
    mtime: nsToDate(n.mtime).toISOString(),
    target: n.target ?? null,
  };
}

function json(ctx: ApiContext, value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { ...ctx.headers, "content-type": "application/json; charset=utf-8" },
  });
}
