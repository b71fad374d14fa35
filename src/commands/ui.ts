import {
  type Command,
  expectPositionals,
  lockToRead,
  openRepository,
  stringFlag,
  UsageError,
} from "../cli/mod.ts";
import type { Repository } from "../repo/mod.ts";
import { startUi } from "../ui/mod.ts";
import { CONFIG_OPTION, openConfigRepository } from "./_job_flags.ts";
import { loadJobConfig } from "../job/mod.ts";
import { parseListen } from "./serve.ts";

/** `cairn ui`: browse a repository in a web browser, and mount its snapshots over WebDAV. */
export const uiCommand: Command = {
  name: "ui",
  summary: "browse, search, diff and restore snapshots in a web browser; WebDAV at /dav",
  usage: "cairn ui [--repo R] [--listen ADDR:PORT]\n       cairn ui --config FILE REPOSITORY",
  description: [
    "Serves a local web page over the repository and prints its URL with a random token",
    "(as Jupyter does): snapshots on a timeline per host and job, each snapshot's tree,",
    "file downloads, folders as tar or zip, diffs, search by name and restores into a",
    "directory. The same snapshots are read-only WebDAV at /dav/HOST/JOB/TIME/PATH; DAV",
    "clients give the token as the password (any user name). Every request without the",
    "token is refused. Listens on 127.0.0.1 with any free port unless --listen says",
    "otherwise. Holds a shared lock, so no prune deletes what it reads. Runs until",
    "SIGINT or SIGTERM.",
  ].join("\n"),
  usesRepository: true,
  options: {
    config: {
      ...CONFIG_OPTION,
      description: "a job file; REPOSITORY names one of its repositories",
    },
    listen: {
      type: "string",
      arg: "ADDR:PORT",
      description: "address to listen on (default 127.0.0.1:0, any free port)",
    },
  },
  async run(ctx) {
    const config = stringFlag(ctx.flags, "config");
    expectPositionals(this, ctx.positionals, config === undefined ? 0 : 1);
    const listen = parseListen(stringFlag(ctx.flags, "listen") ?? "127.0.0.1:0");
    let repo: Repository;
    if (config !== undefined) {
      if (stringFlag(ctx.flags, "repo") !== undefined) {
        throw new UsageError("give --repo or --config FILE REPOSITORY, not both");
      }
      const jobs = await loadJobConfig(config, { env: ctx.env });
      repo = await openConfigRepository(
        jobs,
        ctx.positionals[0],
        ctx.env,
        (l) => ctx.output.err(l),
      );
      await lockToRead(ctx, repo, { refreshIndex: true });
    } else {
      repo = await openRepository(ctx, { read: true });
    }
    const server = startUi({
      repo,
      hostname: listen.hostname,
      port: listen.port,
      signal: ctx.signal,
      log: (line) => ctx.output.err(`${new Date().toISOString()} ${line}`),
    });
    if (!/^(127\.|::1$|localhost$)/.test(server.addr.hostname)) {
      ctx.output.err(
        `warning: listening on ${server.addr.hostname}, not loopback: anyone who learns the token can read every snapshot`,
      );
    }
    // Tests and scripts read the URL from this line (useful with port 0).
    ctx.output.err(`cairn ui: open ${server.url}`);
    ctx.output.err(
      `WebDAV: ${
        server.url.replace(/\/\?token=.*$/, "/dav/")
      } (any user name, the token as password)`,
    );
    await server.finished;
    return 0;
  },
};
