/**
 * SNAPSHOT arguments (`latest` included) and listings in a repository shared
 * by several hosts take restic's --host, --path, --tag and --job filters.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, lastJson, makeRepo } from "./_launcher.ts";

/** Three hosts' snapshots of their own trees, oldest first; web1's newest is a job's. */
async function fleetRepo() {
  const { dir, env } = await makeRepo();
  const ids: Record<string, string> = {};
  const backup = async (name: string, host: string, time: string, extra: string[] = []) => {
    const src = `${dir}/${host}`;
    await Deno.mkdir(src, { recursive: true });
    await Deno.writeTextFile(`${src}/who.txt`, `${name} on ${host}\n`);
    const r = await cairn(["backup", src, "--host", host, "--time", time, "--json", ...extra], {
      env,
    });
    assertEquals(r.code, 0, r.stderr);
    ids[name] = lastJson<{ snapshot: string }>(r).snapshot;
  };
  await backup("w1-old", "web1", "2026-01-01T00:00:00Z", ["--tag", "daily"]);
  await backup("db-new", "db", "2026-01-05T00:00:00Z", ["--tag", "daily", "--tag", "db"]);
  await backup("w2-mid", "web2", "2026-01-03T00:00:00Z");
  // web1's job run, newest of all (now).
  await Deno.writeTextFile(`${dir}/pw`, env.CAIRN_PASSWORD);
  await Deno.writeTextFile(
    `${dir}/cairn.toml`,
    [
      `state_dir = "${dir}/state"`,
      `[repository.main]`,
      `path = "${env.CAIRN_REPO}"`,
      `password_file = "${dir}/pw"`,
      `[[job]]`,
      `name = "site"`,
      `host = "web1"`,
      `paths = ["${dir}/web1"]`,
    ].join("\n"),
  );
  await Deno.writeTextFile(`${dir}/web1/who.txt`, "site on web1\n");
  const run = await cairn(["run", "--config", `${dir}/cairn.toml`], { env });
  assertEquals(run.code, 0, run.stderr);
  const list = lastJson<{ id: string; job?: string }[]>(
    await cairn(["snapshots", "--json"], { env }),
  );
  ids["site"] = list.find((s) => s.job === "site")!.id;
  return { dir, env, ids };
}

Deno.test("latest and ids take --host, --path, --tag and --job on ls, dump, restore, diff, find, mirror", async () => {
  const { dir, env, ids } = await fleetRepo();
  const dump = (...args: string[]) => cairn(["dump", ...args], { env });
  const who = (host: string) => `${dir}/${host}/who.txt`;

  // No filter: the newest of all, web1's job run.
  assertEquals((await dump("latest", who("web1"))).stdout, "site on web1\n");
  assertEquals((await dump("latest", who("db"), "--host", "db")).stdout, "db-new on db\n");
  assertEquals((await dump("latest", who("web2"), "--host", "web2")).stdout, "w2-mid on web2\n");
  // --tag: the newest carrying the tag set; --job: the newest of that job.
  assertEquals(
    (await dump("latest", who("web1"), "--host", "web1", "--tag", "daily")).stdout,
    "w1-old on web1\n",
  );
  assertEquals((await dump("latest", who("web1"), "--job", "site")).stdout, "site on web1\n");
  assertEquals(
    (await dump("latest", who("db"), "--path", `${dir}/db`)).stdout,
    "db-new on db\n",
  );
  // An id outside the selection is refused, naming the filter.
  const outside = await dump(ids["db-new"].slice(0, 10), who("db"), "--host", "web1");
  assertEquals(outside.code, 1);
  assertStringIncludes(outside.stderr, "does not match --host web1");
  const none = await cairn(["ls", "latest", "--host", "nobody"], { env });
  assertEquals(none.code, 1);
  assertStringIncludes(none.stderr, "No snapshot found matching --host nobody");

  const ls = await cairn(["ls", "latest", "--host", "web2"], { env });
  assertEquals(ls.code, 0, ls.stderr);
  assertStringIncludes(ls.stdout, who("web2"));
  assert(!ls.stdout.includes(who("web1")), ls.stdout);

  const target = `${dir}/out`;
  const restored = await cairn(["restore", "latest", "--target", target, "--host", "db"], { env });
  assertEquals(restored.code, 0, restored.stderr);
  assertEquals(Deno.readTextFileSync(`${target}${who("db")}`), "db-new on db\n");

  const mirror = await cairn(["mirror", "latest", `${dir}/m`, "--tag", "db"], { env });
  assertEquals(mirror.code, 0, mirror.stderr);
  assertEquals(Deno.readTextFileSync(`${dir}/m/who.txt`), "db-new on db\n");

  const diff = await cairn(["diff", "latest", ids["w1-old"], "--host", "web1", "--json"], { env });
  assertEquals(diff.code, 0, diff.stderr);
  assertEquals(lastJson<{ from: string }>(diff).from, ids["site"]);

  const found = await cairn(["find", "who.txt", "--host", "web1", "--json"], { env });
  assertEquals(found.code, 0, found.stderr);
  const snaps = lastJson<{ snapshots: { id: string }[] }>(found).snapshots.map((s) => s.id).sort();
  assertEquals(snaps, [ids["w1-old"], ids["site"]].sort());
});

Deno.test("snapshots groups by host, shows the job, and takes the same filters", async () => {
  const { env, ids } = await fleetRepo();
  const r = await cairn(["snapshots"], { env });
  assertEquals(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assertEquals(lines.filter((l) => l.startsWith("host ")), [
    "host db: 1 snapshot",
    "host web1: 2 snapshots",
    "host web2: 1 snapshot",
  ]);
  const web1 = lines.indexOf("host web1: 2 snapshots");
  assertMatch(lines[web1 + 2], new RegExp(`^  ${ids["w1-old"].slice(0, 8)} .* - +daily `));
  assertMatch(lines[web1 + 3], new RegExp(`^  ${ids["site"].slice(0, 8)} .* site `));
  assertEquals(lines.at(-1), "4 snapshots from 3 hosts");
  const json = (...f: string[]) =>
    cairn(["snapshots", "--json", ...f], { env }).then((x) =>
      lastJson<{ id: string }[]>(x).map((s) => s.id).sort()
    );
  assertEquals(
    await json("--host", "web1", "--host", "web2"),
    [ids["w1-old"], ids["site"], ids["w2-mid"]].sort(),
  );
  assertEquals(await json("--tag", "daily,db"), [ids["db-new"]]);
  assertEquals(await json("--job", "site"), [ids["site"]]);
});
