/**
 * One naming style in all JSON output: every command that prints JSON is run
 * with `--json` on a real repository, and every key of every JSON line it
 * prints, at every depth, must be snake_case (restic's style). Every
 * command in `cairn --help` must appear here, either run or listed with the
 * reason it prints no JSON, so a new command cannot slip past.
 */
import { assert, assertEquals } from "../src/testing/asserts.ts";
import { COMMANDS } from "../src/commands/mod.ts";
import { cairn, makeRepo, randomBytes, writeJobFile } from "./_launcher.ts";

/** Commands whose `--json` prints no JSON document, and why. */
const NO_JSON: Record<string, string> = {
  dump: "writes a file's bytes or an archive to stdout",
  serve: "a daemon: its JSON is the fleet protocol (tests/remote_cli_test.ts)",
  ui: "a daemon: its JSON is the web API (tests/ui_cli_test.ts)",
  completion: "prints a shell script",
  man: "prints a man page",
  retention: "needs an S3 repository with Object Lock (tests/s3_cli_test.ts checks its JSON)",
};

const SNAKE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;

/** Every key at every depth of `value`, with its path. */
function keys(value: unknown, path = "$"): string[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => keys(v, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap((
    [k, v],
  ) => [[k, `${path}.${k}`], ...keys(v, `${path}.${k}`)]);
}

Deno.test("every key of every command's --json output is snake_case", async () => {
  const { dir, env } = await makeRepo();
  const bad: string[] = [];
  const ran = new Set<string>();
  /** Runs `cairn args --json`, expects `code`, and checks every JSON line of stdout. */
  const json = async (
    args: string[],
    opts: { env?: Record<string, string>; code?: number } = {},
  ) => {
    const r = await cairn([...args, "--json"], { env: opts.env ?? env });
    assertEquals(r.code, opts.code ?? 0, `${args.join(" ")}: ${r.stderr}`);
    const docs = r.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
    assert(docs.length > 0, `${args.join(" ")} --json printed no JSON`);
    for (const doc of docs) {
      for (const [k, path] of keys(doc)) {
        const where = `cairn ${args[0]}: ${path.replace(/\[\d+\]/g, "[]")}`;
        if (!SNAKE.test(k) && !bad.includes(where)) bad.push(where);
      }
    }
    ran.add(args[0]);
    return docs[docs.length - 1];
  };
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(`${src}/sub`, { recursive: true });
    await Deno.writeTextFile(`${src}/a.txt`, "alpha\n");
    await Deno.writeTextFile(`${src}/secret.txt`, "hunter2\n");
    await Deno.writeFile(`${src}/sub/big.bin`, randomBytes(200_000));
    const other = { ...env, CAIRN_REPO: `${dir}/other`, CAIRN_FROM_PASSWORD: env.CAIRN_PASSWORD };
    await json(["init", "--kdf-memory", "8", "--kdf-iterations", "1"], { env: other });
    const first = await json(["backup", src, "--tag", "t1"]);
    await Deno.writeTextFile(`${src}/a.txt`, "alpha, changed\n");
    await json(["backup", src, "--dry-run"]);
    const second = await json(["backup", src]);
    await json(["snapshots"]);
    await json(["ls", "latest"]);
    await json(["find", "*.txt"]);
    await json(["diff", first.snapshot, second.snapshot]);
    await json(["restore", "latest", "--target", `${dir}/restored`]);
    await json(["restore", "latest", "--target", `${dir}/restored`, "--dry-run"]);
    await json(["mirror", "latest", `${dir}/mirror`]);
    await json(["tag", "--add", "t2", "latest"]);
    await json(["stats"]);
    await json(["check"]);
    await json(["check", "--read-data-subset", "1/2"]);
    await json(["copy", "--from-repo", env.CAIRN_REPO], { env: other });
    await json(["rewrite", "--exclude", "secret.txt", "--dry-run"]);
    await json(["rewrite", "--exclude", "secret.txt", "--forget"]);
    await json(["forget", "--keep-last", "1", "--dry-run"]);
    await json(["forget", "--keep-last", "1", "--prune"]);
    await json(["prune", "--dry-run"]);
    await json(["prune", "--grace", "0"]);
    await json(["repair", "index"]);
    await json(["repair", "snapshots", "--dry-run"]);
    await json(["unlock"]);
    await Deno.writeTextFile(`${dir}/pw2`, "second password\n");
    await json(["key", "list"]);
    const added = await json(["key", "add", "--new-password-file", `${dir}/pw2`]);
    await json(["key", "remove", added.added]);

    const config = await writeJobFile(dir, env, [
      "[repository.main.check]",
      `schedule = "@daily"`,
      "[[job]]",
      `name = "docs"`,
      `repository = "main"`,
      `paths = ["${src}"]`,
      `schedule = "@daily"`,
    ]);
    await json(["run", "--config", config, "docs"]);
    await json(["agent", "--config", config, "--once"]);
    await json(["status", "--config", config]);
    await json(["keygen", "--out", `${dir}/fleet`]);
    await Deno.writeTextFile(`${dir}/doc.toml`, "version = 1\n");
    await json(["sign", `${dir}/doc.toml`, "--key", `${dir}/fleet`]);

    assertEquals(bad, [], "keys that are not snake_case");
    const missing = COMMANDS.map((c) => c.name).filter((n) => !ran.has(n) && !(n in NO_JSON));
    assertEquals(missing, [], "commands this test neither runs nor lists in NO_JSON");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the keys helper sees nested keys (so the test above can fail)", () => {
  assertEquals(keys({ a: [{ bB: { c_d: 1 } }] }).map(([k]) => k), ["a", "bB", "c_d"]);
  assert(!SNAKE.test("dryRun") && SNAKE.test("packs_would_add"));
});
