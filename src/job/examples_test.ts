import { parseJobConfig } from "./config.ts";
import { assertEquals } from "../testing/asserts.ts";

const dir = new URL("../../examples/", import.meta.url);

Deno.test("examples/cairn.toml parses and uses every job key", async () => {
  const text = await Deno.readTextFile(new URL("cairn.toml", dir));
  const config = parseJobConfig(text, "examples/cairn.toml", { env: { HOME: "/root" }, uid: 0 });
  assertEquals(config.jobs.map((j) => j.name), ["etc", "home"]);
  assertEquals(Object.keys(config.repositories), ["local", "offsite"]);
  assertEquals(config.jobs[0].paths, ["/etc", "/root/notes"]);
  assertEquals(config.jobs[0].mirror?.path, "/mnt/mirror/{host}/{job}");
  assertEquals(config.jobs[1].keep?.withinDaily, 14 * 86_400_000);
  assertEquals(config.remote?.allow, { repositories: ["offsite"], paths: ["/srv", "/var/www"] });
  // Every key the parser knows appears in the example, so the example stays the complete reference.
  for (
    const key of [
      "state_dir",
      "metrics_file",
      "password_file",
      "password_env",
      "url",
      "exclude",
      "exclude_if_present",
      "one_file_system",
      "schedule",
      "jitter",
      "tags",
      "host",
      "before",
      "after",
      "keep",
      "mirror",
      "purge",
      "require_mount",
      "last",
      "hourly",
      "daily",
      "weekly",
      "monthly",
      "yearly",
      "within",
      "within_hourly",
      "within_daily",
      "within_weekly",
      "within_monthly",
      "within_yearly",
      "public_key",
      "token_file",
      "poll",
      "ca_file",
      "access_key_id_file",
      "secret_access_key_file",
      "region",
      "path_style",
      "storage_class",
      "repositories",
      "paths",
    ]
  ) {
    assertEquals(
      new RegExp(`\\b${key}\\s*=|\\.${key}\\]`).test(text),
      true,
      `examples/cairn.toml lacks "${key}"`,
    );
  }
});

Deno.test("examples/cairn.service reloads with SIGHUP and starts the agent with the example path", async () => {
  const unit = await Deno.readTextFile(new URL("cairn.service", dir));
  assertEquals(
    unit.includes("ExecStart=/usr/local/bin/cairn agent --config /etc/cairn/cairn.toml\n"),
    true,
  );
  assertEquals(unit.includes("ExecReload=/bin/kill -HUP $MAINPID\n"), true);
});
