// Test helpers: a fleet endpoint on loopback with a signing key and a job directory.

import { parse as parseToml } from "smol-toml";
import { exportPublicKey, generateKeyPair, signDocument } from "./keys.ts";
import type { RemoteDocument } from "./types.ts";
import { type FleetServer, serveFleet } from "./serve.ts";

/**
 * A stand-in for the job parser's remote mode: just enough of the format for
 * the fetcher tests, so they do not depend on every rule of the real parser.
 */
export function parseTestDocument(text: string, source: string): RemoteDocument {
  let t: Record<string, unknown>;
  try {
    t = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message.split("\n")[0]}`);
  }
  if (typeof t.version !== "number") throw new Error(`${source}: key "version": required`);
  if (!(t.expires instanceof Date)) throw new Error(`${source}: key "expires": required`);
  const repos = (t.repository ?? {}) as Record<string, Record<string, string>>;
  return {
    version: t.version,
    expires: new Date(t.expires.getTime()),
    reportUrl: t.report_url as string | undefined,
    repositories: Object.fromEntries(
      Object.entries(repos).map(([name, r]) => [name, {
        path: r.path,
        url: r.url,
        passwordFile: r.password_file,
        passwordEnv: r.password_env,
      }]),
    ),
    jobs: ((t.job ?? []) as Record<string, unknown>[]).map((j) => ({
      name: String(j.name),
      repository: String(j.repository),
      paths: j.paths as string[],
      ...(typeof j.host === "string" ? { host: j.host } : {}),
    })),
  };
}

/** A job document for host `web1` with the given version, expiry and paths. */
export function jobDocument(
  version: number,
  options: {
    expires?: Date;
    paths?: string[];
    repository?: string;
    reportUrl?: string;
    host?: string;
  } = {},
): string {
  const expires = options.expires ?? new Date(Date.now() + 3600_000);
  const repo = options.repository ?? "main";
  const lines = [
    `version = ${version}`,
    `expires = ${expires.toISOString()}`,
    ...(options.reportUrl ? [`report_url = "${options.reportUrl}"`] : []),
    "",
    `[repository.${repo}]`,
    `path = "/backup/${repo}"`,
    `password_file = "/etc/cairn/password"`,
    "",
    "[[job]]",
    `name = "www"`,
    `repository = "${repo}"`,
    `paths = ${JSON.stringify(options.paths ?? ["/srv/www"])}`,
    ...(options.host ? [`host = "${options.host}"`] : []),
    "",
  ];
  return lines.join("\n");
}

/** A fleet endpoint on 127.0.0.1 with a temp job directory and a signing key. */
export class TestFleet implements AsyncDisposable {
  readonly #abort = new AbortController();
  private constructor(
    readonly dir: string,
    readonly keys: CryptoKeyPair,
    readonly publicKey: string,
    readonly server: FleetServer,
    readonly logs: string[],
  ) {}

  static async start(options: { tokensFile?: string } = {}): Promise<TestFleet> {
    const dir = await Deno.makeTempDir({ prefix: "cairn-remote-" });
    await Deno.mkdir(`${dir}/jobs`);
    const keys = await generateKeyPair();
    const logs: string[] = [];
    const abort = new AbortController();
    const server = await serveFleet({
      jobsDir: `${dir}/jobs`,
      listen: { hostname: "127.0.0.1", port: 0 },
      tokensFile: options.tokensFile,
      signal: abort.signal,
      log: (l) => logs.push(l),
    });
    const fleet = new TestFleet(dir, keys, await exportPublicKey(keys.publicKey), server, logs);
    fleet.#abort.signal.addEventListener("abort", () => abort.abort());
    return fleet;
  }

  /** `http://127.0.0.1:PORT` */
  get origin(): string {
    return `http://127.0.0.1:${this.server.addr.port}`;
  }

  /** The agent's URL template. */
  get urlTemplate(): string {
    return `${this.origin}/v1/agents/{host}/jobs.toml`;
  }

  /** Publishes `text` for `host`, signed with `key` (default: the fleet key). */
  async publish(host: string, text: string, key = this.keys.privateKey): Promise<void> {
    const bytes = new TextEncoder().encode(text);
    await Deno.writeFile(`${this.dir}/jobs/${host}.toml`, bytes);
    await Deno.writeFile(`${this.dir}/jobs/${host}.toml.sig`, await signDocument(bytes, key));
  }

  /** Stops the server (for "endpoint down" cases); the directory stays. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await this.server.finished;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await Deno.remove(this.dir, { recursive: true });
  }
}

/**
 * An endpoint that accepts connections and reads what comes, but never
 * answers: what an agent's requests must give up on in their time limit.
 */
export function silentEndpoint(): { origin: string; accepted: () => number } & AsyncDisposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      // Drain, so the client's writes never block; never write back.
      void conn.readable.pipeTo(new WritableStream()).catch(() => {});
    }
  })().catch(() => {});
  return {
    origin: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    accepted: () => conns.length,
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // Closed by the client already.
        }
      }
      await accepting;
    },
  };
}
