/**
 * `--password-command`, `CAIRN_PASSWORD_COMMAND` and a job's
 * `password_command`: the password is what the command prints.
 */
import { assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, makeRepo } from "./_launcher.ts";

Deno.test("--password-command and CAIRN_PASSWORD_COMMAND open the repository with what CMD prints", async () => {
  const { dir, env } = await makeRepo();
  const { CAIRN_PASSWORD: pw, ...noPw } = env;
  await Deno.writeTextFile(`${dir}/secret`, `${pw}\n`);
  const byFlag = await cairn(["snapshots", "--password-command", `cat ${dir}/secret`], {
    env: noPw,
  });
  assertEquals(byFlag.code, 0, byFlag.stderr);
  const byEnv = await cairn(["snapshots"], {
    env: { ...noPw, CAIRN_PASSWORD_COMMAND: `printf '%s' '${pw}'` },
  });
  assertEquals(byEnv.code, 0, byEnv.stderr);

  const wrong = await cairn(["snapshots", "--password-command", "echo nope"], { env: noPw });
  assertEquals(wrong.code, 1);
  assertStringIncludes(wrong.stderr, "Wrong password");
  const failing = await cairn(["snapshots", "--password-command", "exit 7"], { env: noPw });
  assertEquals(failing.code, 1);
  assertEquals(failing.stderr.trim().split("\n").length, 1, failing.stderr);
  assertStringIncludes(failing.stderr, "exited with code 7");
  const silent = await cairn(["snapshots", "--password-command", "true"], { env: noPw });
  assertEquals(silent.code, 1);
  assertStringIncludes(silent.stderr, "printed no password");
  const both = await cairn([
    "snapshots",
    "--password-command",
    "true",
    "--password-file",
    `${dir}/secret`,
  ], { env: noPw });
  assertEquals(both.code, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a job's password_command gives its repository's password", async () => {
  const { dir, env } = await makeRepo();
  await Deno.mkdir(`${dir}/src`);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "alpha\n");
  await Deno.writeTextFile(`${dir}/secret`, `${env.CAIRN_PASSWORD}\n`);
  const config = (repoKeys: string) =>
    [
      `state_dir = "${dir}/state"`,
      "[repository.main]",
      `path = "${env.CAIRN_REPO}"`,
      repoKeys,
      "[[job]]",
      'name = "docs"',
      `paths = ["${dir}/src"]`,
    ].join("\n");
  await Deno.writeTextFile(`${dir}/ok.toml`, config(`password_command = "cat ${dir}/secret"`));
  const r = await cairn(["run", "--config", `${dir}/ok.toml`, "docs"]);
  assertEquals(r.code, 0, r.stderr);
  assertMatch(r.stdout, /^job "docs": success/);

  await Deno.writeTextFile(
    `${dir}/two.toml`,
    config(`password_command = "true"\npassword_file = "${dir}/secret"`),
  );
  const two = await cairn(["run", "--config", `${dir}/two.toml`, "docs"]);
  assertEquals(two.code, 2, two.stderr);
  assertStringIncludes(two.stderr, "at most one of");
  await Deno.remove(dir, { recursive: true });
});
