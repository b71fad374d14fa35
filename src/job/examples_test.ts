import { parseJobConfig } from "./config.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { Reader } from "./_reader.ts";

const dir = new URL("../../examples/", import.meta.url);

Deno.test("examples/cairn.toml parses and uses every job key", async () => {
  const text = await Deno.readTextFile(new URL("cairn.toml", dir));
  const config = parseJobConfig(text, "examples/cairn.toml", { env: { HOME: "/root" }, uid: 0 });
  assertEquals(config.jobs.map((j) => j.name), [
    "etc",
    "home",
    "root-image",
    "shop-db",
    "local.prune",
    "local.check",
    "vault.check",
  ]);
  assertEquals(config.jobs[6].maintenance, { task: "check", readData: true });
  assertEquals(config.jobs[2].readSpecial, true);
  assertEquals(config.jobs[3].command, { argv: ["pg_dump", "-Fc", "shop"], name: "shop.dump" });
  assertEquals(config.jobs[3].paths, ["/shop.dump"]);
  assertEquals(Object.keys(config.repositories), ["local", "vault", "offsite"]);
  assertEquals(config.jobs[0].paths, ["/etc", "/root/notes"]);
  assertEquals(config.jobs[0].copyTo, [
    { repository: "vault" },
    { repository: "offsite", keep: { daily: 30, monthly: 12 } },
  ]);
  assertEquals(config.jobs[0].mirror?.path, "/mnt/mirror/{host}/{job}");
  assertEquals(config.jobs[1].keep?.withinDaily, 14 * 86_400_000);
  assertEquals(config.remote?.allow, { repositories: ["offsite"], paths: ["/srv", "/var/www"] });
  // Every key the parser knows appears in the example, so the example stays the
  // complete reference. The keys come from the parser itself: every table it
  // reads declares what it allows through Reader.onlyKeys().
  const known = new Set<string>();
  const original = Reader.prototype.onlyKeys;
  Reader.prototype.onlyKeys = function (allowed, forbiddenHere) {
    for (const k of allowed) known.add(k);
    return original.call(this, allowed, forbiddenHere);
  };
  try {
    parseJobConfig(text, "examples/cairn.toml", { env: { HOME: "/root" }, uid: 0 });
  } finally {
    Reader.prototype.onlyKeys = original;
  }
  assert(known.has("one_file_system") && known.has("ca_file"), "the parser's keys were seen");
  const missing = [...known].filter((key) => {
    const assigned = new RegExp(`(^\\s*|[{,]\\s*)${key}\\s*=`, "m");
    const header = new RegExp(`^\\[+([a-z_]+\\.)*${key}(\\.[a-z_]+)*\\]+`, "m");
    return !assigned.test(text) && !header.test(text);
  });
  assertEquals(missing, [], "keys the parser knows that examples/cairn.toml lacks");
});

Deno.test("examples/cairn.service reloads with SIGHUP and starts the agent with the example path", async () => {
  const unit = await Deno.readTextFile(new URL("cairn.service", dir));
  assertEquals(
    unit.includes("ExecStart=/usr/local/bin/cairn agent --config /etc/cairn/cairn.toml\n"),
    true,
  );
  assertEquals(unit.includes("ExecReload=/bin/kill -HUP $MAINPID\n"), true);
});
