import { type Command, expectPositionals, stringFlag, UsageError } from "../cli/mod.ts";
import { serveFleet, UnsafeListenError } from "../remote/mod.ts";

/** `cairn serve`: the reference endpoint for a fleet of agents. */
export const serveCommand: Command = {
  name: "serve",
  summary: "serve signed job documents to agents and collect their reports",
  usage: "cairn serve --jobs-dir DIR [--listen ADDR:PORT] [--tokens FILE] [--dashboard-token FILE]",
  description: [
    "Serves DIR/{host}.toml and DIR/{host}.toml.sig, stores reports and heartbeats in",
    "DIR/reports, and shows the fleet: a dashboard at GET / (stale hosts first, a page per",
    "host at /host/NAME), Prometheus metrics at GET /metrics and JSON at GET /v1/status.",
    "Without --tokens, agent requests are not authenticated: listen on loopback only. On",
    "any address but loopback the pages need --dashboard-token (HTTP Basic, the token as",
    "password, or Bearer); serve refuses to start without it. Requests must arrive in time",
    "(head 10s, body 30s) and at most 256 connections are open at once. Runs until SIGINT",
    "or SIGTERM.",
  ].join("\n"),
  usesRepository: false,
  options: {
    "jobs-dir": { type: "string", arg: "DIR", description: "directory of job documents" },
    listen: {
      type: "string",
      arg: "ADDR:PORT",
      description: "address to listen on (default 127.0.0.1:8080; port 0: any free port)",
    },
    tokens: { type: "string", arg: "FILE", description: "file of 'host token' lines" },
    "dashboard-token": {
      type: "string",
      arg: "FILE",
      description: "file holding the token (or password) for the pages and /metrics",
    },
    refresh: {
      type: "string",
      arg: "SECONDS",
      description: "seconds between dashboard refreshes (default 30)",
    },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const jobsDir = stringFlag(ctx.flags, "jobs-dir");
    if (!jobsDir) throw new UsageError("--jobs-dir DIR is required");
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(jobsDir);
    } catch (err) {
      throw new UsageError(`--jobs-dir ${jobsDir}: ${(err as Error).message}`, { cause: err });
    }
    if (!info.isDirectory) throw new UsageError(`--jobs-dir ${jobsDir} is not a directory`);
    const refreshText = stringFlag(ctx.flags, "refresh") ?? "30";
    const refreshSeconds = Number(refreshText);
    if (!/^\d{1,6}$/.test(refreshText) || refreshSeconds < 1) {
      throw new UsageError(`--refresh "${refreshText}": expected a whole number of seconds`);
    }
    const listenText = stringFlag(ctx.flags, "listen") ?? "127.0.0.1:8080";
    const log = (line: string) => ctx.output.err(`${new Date().toISOString()} ${line}`);
    let server;
    try {
      server = await serveFleet({
        jobsDir,
        listen: parseListen(listenText),
        tokensFile: stringFlag(ctx.flags, "tokens"),
        dashboardTokenFile: stringFlag(ctx.flags, "dashboard-token"),
        refreshSeconds,
        signal: ctx.signal,
        log,
      });
    } catch (err) {
      if (err instanceof UnsafeListenError) {
        throw new UsageError(
          `--listen ${listenText}: give --dashboard-token FILE (${err.message})`,
        );
      }
      if (err instanceof Deno.errors.NotFound || err instanceof TypeError) {
        throw new UsageError((err as Error).message.split("\n")[0], { cause: err });
      }
      throw err;
    }
    const { hostname, port } = server.addr;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    // Tests and scripts read the address from this line (useful with port 0).
    ctx.output.err(`listening on http://${host}:${port}`);
    await server.finished;
    log("serve: stopped");
    return 0;
  },
};

/** `ADDR:PORT`, `[IPv6]:PORT` or `:PORT` (all addresses). */
export function parseListen(text: string): { hostname: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`--listen "${text}": expected ADDR:PORT, e.g. 127.0.0.1:8080`);
  }
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}
