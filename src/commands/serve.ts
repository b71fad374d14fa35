import { type Command, expectPositionals, stringFlag, UsageError } from "../cli/mod.ts";
import { serveFleet } from "../remote/mod.ts";

/** `cairn serve`: the reference endpoint for a fleet of agents. */
export const serveCommand: Command = {
  name: "serve",
  summary: "serve signed job documents to agents and collect their reports",
  usage: "cairn serve --jobs-dir DIR [--listen ADDR:PORT] [--tokens FILE]",
  description: [
    "Serves DIR/{host}.toml and DIR/{host}.toml.sig, stores reports in DIR/reports and",
    "shows each host's last results at GET /v1/status. Without --tokens, agent requests",
    "are not authenticated: listen on loopback only. Requests must arrive in time (head 10s,",
    "body 30s) and at most 256 connections are open at once. Runs until SIGINT or SIGTERM.",
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
    const log = (line: string) => ctx.output.err(`${new Date().toISOString()} ${line}`);
    const server = await serveFleet({
      jobsDir,
      listen: parseListen(stringFlag(ctx.flags, "listen") ?? "127.0.0.1:8080"),
      tokensFile: stringFlag(ctx.flags, "tokens"),
      signal: ctx.signal,
      log,
    });
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
