/**
 * `run`, `status` and `agent` with no `--config`: $CAIRN_CONFIG, then the
 * user's config directory, then /etc/cairn/cairn.toml; the error names them.
 */
import { assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, makeRepo, writeJobFile } from "./_launcher.ts";

/** Deno's cache where the test's own HOME has it, for runs given another HOME. */
const DENO_DIR = Deno.env.get("DENO_DIR") ??
  `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/deno`;

async function setup() {
  const { dir, env } = await makeRepo();
  await Deno.mkdir(`${dir}/src`);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "a\n");
  const file = await writeJobFile(dir, env, [
    "[[job]]",
    'name = "docs"',
    `paths = ["${dir}/src"]`,
  ]);
  return { dir, file, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("run and status find the job file in $XDG_CONFIG_HOME/cairn, then ~/.config/cairn", async () => {
  await using t = await setup();
  await Deno.mkdir(`${t.dir}/xdg/cairn`, { recursive: true });
  await Deno.copyFile(t.file, `${t.dir}/xdg/cairn/cairn.toml`);
  const xdg = { XDG_CONFIG_HOME: `${t.dir}/xdg`, HOME: `${t.dir}/nohome`, DENO_DIR };
  const run = await cairn(["run"], { env: xdg });
  assertEquals(run.code, 0, run.stderr);
  const status = await cairn(["status"], { env: xdg });
  assertEquals(status.code, 0, status.stderr);
  assertStringIncludes(status.stdout, "docs: ok");

  await Deno.mkdir(`${t.dir}/home/.config/cairn`, { recursive: true });
  await Deno.copyFile(t.file, `${t.dir}/home/.config/cairn/cairn.toml`);
  const home = await cairn(["status"], { env: { HOME: `${t.dir}/home`, DENO_DIR } });
  assertEquals(home.code, 0, home.stderr);
  assertStringIncludes(home.stdout, "docs: ok");
});

Deno.test("$CAIRN_CONFIG comes first, and agent --once uses it too", async () => {
  await using t = await setup();
  await Deno.mkdir(`${t.dir}/xdg/cairn`, { recursive: true });
  await Deno.writeTextFile(`${t.dir}/xdg/cairn/cairn.toml`, "this is not toml [");
  const env = { CAIRN_CONFIG: t.file, XDG_CONFIG_HOME: `${t.dir}/xdg` };
  const agent = await cairn(["agent", "--once"], { env });
  assertEquals(agent.code, 0, agent.stderr);
  const status = await cairn(["status"], { env });
  assertEquals(status.code, 0, status.stderr);
  const broken = await cairn(["status"], { env: { XDG_CONFIG_HOME: `${t.dir}/xdg` } });
  assertEquals(broken.code, 2, "the user's broken file is the one read without $CAIRN_CONFIG");
});

Deno.test("with no job file anywhere, the one-line error names every path tried (exit 2)", async () => {
  await using t = await setup();
  let system = false;
  try {
    system = Deno.statSync("/etc/cairn/cairn.toml").isFile;
  } catch { /* absent, as expected */ }
  if (system) return; // this machine has a system job file: nothing to test here
  const env = { XDG_CONFIG_HOME: `${t.dir}/none`, CAIRN_CONFIG: `${t.dir}/missing.toml` };
  for (const cmd of ["run", "status", "agent"]) {
    const r = await cairn([cmd], { env });
    assertEquals(r.code, 2, cmd);
    assertEquals(
      r.stderr,
      `cairn ${cmd}: no job file: give --config FILE or create one of ${t.dir}/missing.toml, ` +
        `${t.dir}/none/cairn/cairn.toml, /etc/cairn/cairn.toml\n`,
    );
  }
});
