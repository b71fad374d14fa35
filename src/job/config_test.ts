import { assert, assertEquals, assertMatch, assertThrows } from "../testing/asserts.ts";
import { ConfigError } from "./config_error.ts";
import { defaultStateDir, loadJobConfig, parseJobConfig } from "./config.ts";

const ENV = { HOME: "/home/ann", DATA: "/srv/data", EMPTY: "" };
const OPTS = { env: ENV, uid: 1000 };

const BASE = `[repository.local]
path = "/var/backups/cairn"
password_file = "/etc/cairn/password"

[[job]]
name = "etc"
repository = "local"
paths = ["/etc"]
schedule = "0 2 * * *"
`;

// split/join, because String.replace treats "$$" in the replacement as "$".
function sub(text: string, from: string, to: string): string {
  return text.split(from).join(to);
}

function parse(text: string, options: Parameters<typeof parseJobConfig>[2] = OPTS) {
  return parseJobConfig(text, "cairn.toml", options);
}

function error(text: string, options: Parameters<typeof parseJobConfig>[2] = OPTS): ConfigError {
  const e = assertThrows(() => parse(text, options), ConfigError) as ConfigError;
  assertEquals(e.message.includes("\n"), false, "message must be one line");
  return e;
}

Deno.test("parseJobConfig() reads the issue's example file", () => {
  const config = parse(`[repository.local]
path = "/var/backups/cairn"
password_file = "/etc/cairn/password"

[[job]]
name = "etc"
repository = "local"
paths = ["/etc"]
exclude = ["*.swp", "/etc/ssl/private"]
exclude_if_present = ".nobackup"
one_file_system = true
schedule = "0 2 * * *"
jitter = "15m"
tags = ["config"]
before = ["/usr/local/bin/dump-db"]
after = [["/usr/local/bin/notify", "--quiet"]]
keep = { last = 3, daily = 7, weekly = 5, monthly = 12, yearly = 3 }
`);
  assertEquals(config.repositories.local, {
    name: "local",
    path: "/var/backups/cairn",
    passwordFile: "/etc/cairn/password",
  });
  assertEquals(config.jobs, [{
    name: "etc",
    repository: "local",
    paths: ["/etc"],
    exclude: ["*.swp", "/etc/ssl/private"],
    excludeIfPresent: [".nobackup"],
    oneFileSystem: true,
    schedule: "0 2 * * *",
    jitterMs: 15 * 60_000,
    tags: ["config"],
    before: [{
      display: "/usr/local/bin/dump-db",
      argv: ["/bin/sh", "-c", "/usr/local/bin/dump-db"],
    }],
    after: [{
      display: "/usr/local/bin/notify --quiet",
      argv: ["/usr/local/bin/notify", "--quiet"],
    }],
    keep: { last: 3, daily: 7, weekly: 5, monthly: 12, yearly: 3 },
  }]);
  assertEquals(config.stateDir, "/home/ann/.local/state/cairn");
});

Deno.test("parseJobConfig() accepts a table of good files", async (t) => {
  const cases: [string, string, (c: ReturnType<typeof parse>) => unknown, unknown][] = [
    [
      "~ and variables expand in paths",
      sub(BASE, `["/etc"]`, `["~/docs", "$DATA/a", "\${DATA}/b", "/x/$$y"]`),
      (c) => c.jobs[0].paths,
      ["/home/ann/docs", "/srv/data/a", "/srv/data/b", "/x/$y"],
    ],
    [
      "paths are normalised",
      BASE.replaceAll(`["/etc"]`, `["/etc//x/../y/"]`),
      (c) => c.jobs[0].paths,
      ["/etc/y"],
    ],
    [
      "the only repository is the default",
      BASE.replaceAll(`repository = "local"\n`, ""),
      (c) => c.jobs[0].repository,
      "local",
    ],
    [
      "@daily is a schedule",
      BASE.replaceAll(`"0 2 * * *"`, `"@daily"`),
      (c) => c.jobs[0].schedule,
      "@daily",
    ],
    [
      "a job without schedule is allowed",
      BASE.replaceAll(`schedule = "0 2 * * *"\n`, ""),
      (c) => c.jobs[0].schedule,
      undefined,
    ],
    [
      "durations combine units",
      BASE + `jitter = "1h30m"\n`,
      (c) => c.jobs[0].jitterMs,
      90 * 60_000,
    ],
    [
      "exclude_if_present takes a list",
      BASE + `exclude_if_present = [".nobackup", "CACHEDIR.TAG"]\n`,
      (c) => c.jobs[0].excludeIfPresent,
      [".nobackup", "CACHEDIR.TAG"],
    ],
    [
      "s3 urls and password_env are accepted",
      `[repository.s3]\nurl = "s3:https://s3.example.com/bucket/cairn"\npassword_env = "CAIRN_PW"\n`,
      (c) => c.repositories.s3,
      { name: "s3", url: "s3:https://s3.example.com/bucket/cairn", passwordEnv: "CAIRN_PW" },
    ],
    [
      "s3 repositories take region, path_style, ca_file, storage_class and key files",
      `[repository.s3]\nurl = "s3:https://rgw.lan/bkt"\nregion = "eu-1"\npath_style = false\n` +
      `ca_file = "~/ca.pem"\nstorage_class = "STANDARD_IA"\n` +
      `access_key_id_file = "$DATA/id"\nsecret_access_key_file = "$DATA/secret"\n`,
      (c) => c.repositories.s3.s3,
      {
        region: "eu-1",
        pathStyle: false,
        caFile: "/home/ann/ca.pem",
        storageClass: "STANDARD_IA",
        accessKeyIdFile: "/srv/data/id",
        secretAccessKeyFile: "/srv/data/secret",
      },
    ],
    [
      "s3 repositories take object_lock",
      `[repository.s3]\nurl = "s3:https://rgw.lan/bkt"\n` +
      `object_lock = { mode = "compliance", days = 30 }\n`,
      (c) => c.repositories.s3.objectLock,
      { mode: "compliance", days: 30 },
    ],
    [
      "state_dir and metrics_file expand",
      `state_dir = "$DATA/state"\nmetrics_file = "~/m.prom"\n`,
      (c) => [c.stateDir, c.metricsFile],
      ["/srv/data/state", "/home/ann/m.prom"],
    ],
    [
      "keep within and tags",
      BASE + `keep = { within = "7d", within_daily = "30d", tags = ["keep,db", ""] }\n`,
      (c) => c.jobs[0].keep,
      { within: 7 * 86_400_000, withinDaily: 30 * 86_400_000, tags: ["keep,db", ""] },
    ],
    [
      "mirror templates with placeholders",
      BASE +
      `mirror = { path = "/mnt/mirror/{host}/{job}/{date}", purge = true, keep = { last = 2 } }\n`,
      (c) => c.jobs[0].mirror,
      { path: "/mnt/mirror/{host}/{job}/{date}", purge: true, keep: { last: 2 } },
    ],
    [
      "a mirror table header works too, and purges by default",
      BASE + `[job.mirror]\npath = "/mnt/m/{snapshot}"\n`,
      (c) => c.jobs[0].mirror,
      { path: "/mnt/m/{snapshot}", purge: true },
    ],
    [
      "a mirror that must be on a mounted disk",
      BASE + `mirror = { path = "/mnt/usb/{job}/{date}", require_mount = "/mnt/usb/" }\n`,
      (c) => c.jobs[0].mirror,
      { path: "/mnt/usb/{job}/{date}", purge: true, requireMount: "/mnt/usb" },
    ],
    [
      "require_mount may be the mirror itself, or under a placeholder, and expands ~",
      BASE + `mirror = { path = "~/usb", require_mount = "~/usb" }\n` +
      `[[job]]\nname = "b"\npaths = ["/b"]\n` +
      `mirror = { path = "/media/{host}/b", require_mount = "/media/web-1" }\n`,
      (c) => c.jobs.map((j) => j.mirror?.requireMount),
      ["/home/ann/usb", "/media/web-1"],
    ],
    ["host override", BASE + `host = "web-1"\n`, (c) => c.jobs[0].host, "web-1"],
    ["an empty file has no jobs", ``, (c) => c.jobs, []],
  ];
  for (const [name, text, pick, want] of cases) {
    await t.step(name, () => assertEquals(pick(parse(text)), want));
  }
});

Deno.test("parseJobConfig() rejects a table of bad files with file, line and key", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["TOML syntax", BASE + `name = \n`, /^cairn\.toml:10: invalid TOML: .*\(column \d+\)$/],
    [
      "unknown top-level key",
      `stat_dir = "/x"\n`,
      /^cairn\.toml:1: key "stat_dir": unknown key \(did you mean "state_dir"\?\)$/,
    ],
    [
      "unknown job key",
      BASE + `exclude_if = "x"\n`,
      /^cairn\.toml:10: job "etc": key "exclude_if": unknown key/,
    ],
    [
      "unknown keep key",
      BASE + `keep = { last = 1, dayly = 2 }\n`,
      /^cairn\.toml:10: job "etc": key "keep.dayly": unknown key \(did you mean "daily"\?\)$/,
    ],
    [
      "unknown repository key",
      BASE.replaceAll(`password_file`, `pasword_file`),
      /^cairn\.toml:3: repository "local": key "pasword_file": unknown key/,
    ],
    [
      "wrong type",
      BASE + `one_file_system = "yes"\n`,
      /^cairn\.toml:10: job "etc": key "one_file_system": expected true or false, got a string$/,
    ],
    [
      "wrong element type",
      BASE.replaceAll(`["/etc"]`, `["/etc", 3]`),
      /^cairn\.toml:8: job "etc": key "paths\[1\]": expected a string, got an integer$/,
    ],
    [
      "missing paths",
      BASE.replaceAll(`paths = ["/etc"]\n`, ""),
      /^cairn\.toml:5: job "etc": key "paths": required key is missing$/,
    ],
    [
      "missing name",
      BASE.replaceAll(`name = "etc"\n`, ""),
      /^cairn\.toml:5: job #1: key "name": required key is missing$/,
    ],
    ["empty paths", BASE.replaceAll(`["/etc"]`, `[]`), /key "paths": must not be an empty array/],
    [
      "bad job name",
      BASE.replaceAll(`"etc"`, `"my job"`),
      /^cairn\.toml:6: job "my job": key "name": invalid name "my job"/,
    ],
    ["dot-only job name", BASE.replaceAll(`"etc"`, `".."`), /key "name": invalid name "\.\."/],
    [
      "duplicate job",
      BASE + `\n[[job]]\nname = "etc"\npaths = ["/x"]\n`,
      /^cairn\.toml:12: job "etc": duplicate job name \(also job #1\)$/,
    ],
    [
      "missing repository",
      BASE.replaceAll(`repository = "local"`, `repository = "offsite"`),
      /^cairn\.toml:7: job "etc": key "repository": unknown repository "offsite" \(defined: "local"\)$/,
    ],
    [
      "no repository and several defined",
      `[repository.a]\npath = "/a"\n[repository.b]\npath = "/b"\n[[job]]\nname = "x"\npaths = ["/x"]\n`,
      /^cairn\.toml:5: job "x": key "repository": required key is missing/,
    ],
    [
      "bad cron",
      BASE.replaceAll(`"0 2 * * *"`, `"0 2 * *"`),
      /^cairn\.toml:9: job "etc": key "schedule": invalid cron expression "0 2 \* \*" \(expected 5 fields/,
    ],
    [
      "cron out of range",
      BASE.replaceAll(`"0 2 * * *"`, `"61 2 * * *"`),
      /key "schedule": invalid cron expression "61 2 \* \* \*" \(/,
    ],
    [
      "cron with seconds",
      BASE.replaceAll(`"0 2 * * *"`, `"0 0 2 * * *"`),
      /key "schedule": invalid cron expression/,
    ],
    [
      "@reboot",
      BASE.replaceAll(`"0 2 * * *"`, `"@reboot"`),
      /key "schedule": invalid cron expression "@reboot"/,
    ],
    [
      "bad duration",
      BASE + `jitter = "15 minutes"\n`,
      /^cairn\.toml:10: job "etc": key "jitter": invalid duration "15 minutes"/,
    ],
    [
      "relative path",
      BASE.replaceAll(`["/etc"]`, `["etc"]`),
      /^cairn\.toml:8: job "etc": key "paths\[0\]": path "etc" is not absolute$/,
    ],
    [
      "variable making a relative path",
      BASE.replaceAll(`["/etc"]`, `["$DATA/etc", "\${DATA}etc", "etc$DATA"]`),
      /key "paths\[2\]": path "etc\$DATA" expands to "etc\/srv\/data", which is not absolute/,
    ],
    [
      "empty variable making the root",
      BASE.replaceAll(`["/etc"]`, `["/$EMPTY"]`),
      /^cairn\.toml:8: job "etc": key "paths\[0\]": environment variable "EMPTY" is empty \(used in "\/\$EMPTY"\)$/,
    ],
    [
      "unset variable",
      BASE.replaceAll(`["/etc"]`, `["$NOPE/etc"]`),
      /key "paths\[0\]": environment variable "NOPE" is not set/,
    ],
    ["~user", BASE.replaceAll(`["/etc"]`, `["~bob/x"]`), /"~user" paths are not supported/],
    [
      "relative repository path",
      BASE.replaceAll(`"/var/backups/cairn"`, `"backups"`),
      /^cairn\.toml:2: repository "local": key "path": path "backups" is not absolute$/,
    ],
    [
      "path and url",
      BASE.replaceAll(`password_file = "/etc/cairn/password"`, `url = "s3:x/y"`),
      /^cairn\.toml:1: repository "local": set exactly one of "path" \(local\) and "url" \(remote\)$/,
    ],
    [
      "s3 keys on a local repository",
      BASE.replaceAll(`password_file = "/etc/cairn/password"`, `region = "eu-1"`),
      /repository "local": key "region": only allowed with url = "s3:…"/,
    ],
    [
      "an object_lock mode S3 does not have",
      `[repository.s3]\nurl = "s3:https://rgw.lan/bkt"\n` +
      `object_lock = { mode = "strict", days = 30 }\n`,
      /repository "s3": key "object_lock.mode": must be "governance" or "compliance"/,
    ],
    [
      "object_lock on a local repository",
      BASE.replaceAll(
        `password_file = "/etc/cairn/password"`,
        `object_lock = { mode = "governance", days = 1 }`,
      ),
      /repository "local": key "object_lock": only allowed with url = "s3:…"/,
    ],
    [
      "one s3 key file without the other",
      `[repository.r]\nurl = "s3:https://h/b"\naccess_key_id_file = "/k"\n`,
      /key "secret_access_key_file": set both "access_key_id_file" and "secret_access_key_file"/,
    ],
    [
      "unsupported url",
      `[repository.r]\nurl = "ftp://x"\n`,
      /key "url": unsupported repository URL "ftp:\/\/x"/,
    ],
    [
      "two password sources",
      BASE.replaceAll(
        `password_file = "/etc/cairn/password"`,
        `password_file = "/p"\npassword_env = "PW"`,
      ),
      /key "password_env": set at most one of/,
    ],
    ["negative keep", BASE + `keep = { daily = -1 }\n`, /key "keep.daily": must be at least 0/],
    [
      "fractional keep",
      BASE + `keep = { daily = 1.5 }\n`,
      /key "keep.daily": expected an integer, got a float/,
    ],
    [
      "empty keep",
      BASE + `keep = { last = 0 }\n`,
      /job "etc": key "keep": keep policy keeps nothing/,
    ],
    [
      "bad mirror placeholder",
      BASE + `mirror = { path = "/m/{jobname}" }\n`,
      /key "mirror.path": unknown placeholder "\{jobname\}"/,
    ],
    [
      "relative mirror path",
      BASE + `mirror = { path = "{job}/x" }\n`,
      /key "mirror.path": path "\{job\}\/x" is not absolute/,
    ],
    [
      "require_mount not a string",
      BASE + `mirror = { path = "/mnt/usb/x", require_mount = true }\n`,
      /^cairn\.toml:\d+: job "etc": key "mirror.require_mount": expected a string, got a boolean$/,
    ],
    [
      "relative require_mount",
      BASE + `mirror = { path = "/mnt/usb/x", require_mount = "mnt/usb" }\n`,
      /key "mirror.require_mount": path "mnt\/usb" is not absolute$/,
    ],
    [
      "empty require_mount",
      BASE + `mirror = { path = "/mnt/usb/x", require_mount = "" }\n`,
      /key "mirror.require_mount": must not be empty$/,
    ],
    [
      "mirror not on require_mount",
      BASE + `mirror = { path = "/mnt/usb2/x", require_mount = "/mnt/usb" }\n`,
      /key "mirror.require_mount": mirror path "\/mnt\/usb2\/x" is not on "\/mnt\/usb"$/,
    ],
    [
      "require_mount below the mirror",
      BASE + `mirror = { path = "/mnt", require_mount = "/mnt/usb" }\n`,
      /key "mirror.require_mount": mirror path "\/mnt" is not on "\/mnt\/usb"$/,
    ],
    [
      "tag with comma",
      BASE + `tags = ["a,b"]\n`,
      /key "tags\[0\]": tag "a,b" must not contain commas/,
    ],
    [
      "hook of wrong type",
      BASE + `before = [42]\n`,
      /key "before\[0\]": expected a command string or a non-empty array/,
    ],
    [
      "jitter without schedule",
      BASE.replaceAll(`schedule = "0 2 * * *"\n`, `jitter = "5m"\n`),
      /key "jitter": has no effect without "schedule"/,
    ],
    [
      "job not an array of tables",
      BASE.replaceAll("[[job]]", "[job]"),
      /key "job": expected \[\[job\]\] tables/,
    ],
    [
      "remote-only key in a local file",
      `version = 3\n`,
      /^cairn\.toml:1: key "version": only allowed in remote job documents$/,
    ],
  ];
  for (const [name, text, want] of cases) {
    await t.step(name, () => assertMatch(error(text).message, want));
  }
});

Deno.test("ConfigError carries file, line and key as fields", () => {
  const e = error(BASE.replaceAll(`"0 2 * * *"`, `"nope"`));
  assertEquals([e.name, e.file, e.line, e.key], ["ConfigError", "cairn.toml", 9, "schedule"]);
});

Deno.test("parseJobConfig() finds the line of a key in the second of several jobs", () => {
  const text = BASE + `
[[job]]
name = "home"
paths = ["/home"]
schedule = "0 3 * * *"

[job.keep]
daily = 7
hourly = "x"
`;
  const e = error(text);
  assertEquals([e.line, e.key], [18, "keep.hourly"]);
  assertMatch(e.message, /^cairn\.toml:18: job "home": key "keep.hourly": expected an integer/);
});

const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const REMOTE = `[remote]
url = "https://jobs.example.com/fleet.toml"
public_key = "${KEY}"
token_file = "/etc/cairn/token"

[remote.allow]
repositories = ["local"]
paths = ["/etc", "/srv"]
`;

Deno.test("parseJobConfig() reads a [remote] bootstrap table", () => {
  const config = parse(REMOTE);
  assertEquals(config.remote, {
    url: "https://jobs.example.com/fleet.toml",
    publicKey: new Uint8Array(32).fill(7),
    tokenFile: "/etc/cairn/token",
    pollMs: 5 * 60_000,
    allow: { repositories: ["local"], paths: ["/etc", "/srv"] },
  });
});

Deno.test("parseJobConfig() rejects bad [remote] tables", () => {
  assertMatch(
    error(REMOTE.replaceAll("https:", "ftp:")).message,
    /^cairn\.toml:2: key "remote.url": URL .* must use http or https$/,
  );
  assertMatch(
    error(REMOTE.replaceAll(KEY, btoa("short"))).message,
    /^cairn\.toml:3: key "remote.public_key": expected a base64 raw Ed25519 key of 32 bytes, got 5 bytes$/,
  );
  assertMatch(
    error(REMOTE.replaceAll(KEY, "!!!")).message,
    /key "remote.public_key": invalid base64/,
  );
  assertMatch(
    error(REMOTE.replaceAll(`["/etc", "/srv"]`, `["etc"]`)).message,
    /^cairn\.toml:8: key "remote.allow.paths\[0\]": path "etc" is not absolute$/,
  );
  assertMatch(
    error(REMOTE.split("[remote.allow]")[0]).message,
    /key "remote.allow": required key is missing/,
  );
  assertMatch(error(REMOTE + `poll = "1s"\n`).message, /key "remote.allow.poll": unknown key/);
  assertMatch(
    error(REMOTE.replaceAll(`token_file`, `poll = "1s"\ntoken_file`)).message,
    /^cairn\.toml:4: key "remote.poll": must be at least 10s$/,
  );
});

const DOC = `version = 7
expires = 2030-01-01T00:00:00Z
report_url = "https://jobs.example.com/report"

[[job]]
name = "srv"
repository = "local"
paths = ["/srv"]
schedule = "@hourly"
`;
const LOCAL_REPOS = { local: { name: "local", path: "/var/backups/cairn" } };

Deno.test("parseJobConfig() reads a remote document against the local repositories", () => {
  const config = parse(DOC, { remote: true, repositories: LOCAL_REPOS, uid: 0 });
  assertEquals(config.version, 7);
  assertEquals(config.expires, new Date("2030-01-01T00:00:00Z"));
  assertEquals(config.reportUrl, "https://jobs.example.com/report");
  assertEquals(config.jobs.map((j) => [j.name, j.repository, j.paths]), [["srv", "local", [
    "/srv",
  ]]]);
  const asString = parse(DOC.replaceAll("2030-01-01T00:00:00Z", `"2030-01-01T01:00:00+01:00"`), {
    remote: true,
    repositories: LOCAL_REPOS,
    uid: 0,
  });
  assertEquals(asString.expires, new Date("2030-01-01T00:00:00Z"));
});

Deno.test("parseJobConfig() reads a remote document for a user without HOME", () => {
  // Remote documents never choose a state directory, so none is needed to parse one.
  const config = parse(DOC, { remote: true, repositories: LOCAL_REPOS, uid: 1000, env: {} });
  assertEquals(config.jobs.map((j) => j.name), ["srv"]);
  assertEquals(config.stateDir, "");
});

Deno.test("parseJobConfig() rejects what remote documents must not contain", () => {
  const remote = { remote: true, repositories: LOCAL_REPOS, uid: 0 };
  assertMatch(
    error(DOC.replaceAll("version = 7\n", ""), remote).message,
    /key "version": required key is missing/,
  );
  assertMatch(
    error(DOC.replaceAll("version = 7", "version = 0"), remote).message,
    /^cairn\.toml:1: key "version": must be at least 1$/,
  );
  assertMatch(
    error(DOC.replaceAll("expires = 2030-01-01T00:00:00Z\n", ""), remote).message,
    /key "expires": required key is missing/,
  );
  assertMatch(
    error(DOC.replaceAll("2030-01-01T00:00:00Z", "2030-01-01T00:00:00"), remote).message,
    /key "expires": must include a time zone offset/,
  );
  assertMatch(
    error(DOC.replaceAll("2030-01-01T00:00:00Z", `"tomorrow"`), remote).message,
    /key "expires": invalid RFC 3339 date-time "tomorrow"/,
  );
  assertMatch(
    error(DOC.replaceAll("https://jobs", "file://jobs"), remote).message,
    /key "report_url": URL .* must use http or https/,
  );
  assertMatch(
    error(REMOTE + DOC, remote).message,
    /^cairn\.toml:1: key "remote": is not allowed in remote job documents/,
  );
  assertMatch(
    error(`state_dir = "/tmp"\n` + DOC, remote).message,
    /key "state_dir": is not allowed in remote job documents/,
  );
  assertMatch(
    error(DOC + `before = ["rm -rf /"]\n`, remote).message,
    /^cairn\.toml:10: job "srv": key "before": hooks are not allowed in remote job documents/,
  );
  assertMatch(
    error(DOC.replaceAll(`["/srv"]`, `["$HOME/x"]`), remote).message,
    /environment variable "HOME" is not set/,
  );
  assertMatch(
    error(DOC, { remote: true, uid: 0 }).message,
    /key "repository": unknown repository "local" \(defined: none\)/,
  );
});

Deno.test("defaultStateDir() prefers /var/lib for root, then XDG_STATE_HOME, then ~/.local/state", () => {
  assertEquals(defaultStateDir({ HOME: "/root" }, 0), "/var/lib/cairn");
  assertEquals(defaultStateDir({ HOME: "/h", XDG_STATE_HOME: "/xdg/" }, 1000), "/xdg/cairn");
  assertEquals(
    defaultStateDir({ HOME: "/h", XDG_STATE_HOME: "rel" }, 1000),
    "/h/.local/state/cairn",
  );
  assertEquals(defaultStateDir({}, 1000), undefined);
});

Deno.test("loadJobConfig() reports a missing file as a ConfigError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const e = await loadJobConfig(`${dir}/nope.toml`).catch((e) => e);
    assert(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assertEquals(e.message, `${dir}/nope.toml: file not found`);
    await Deno.writeTextFile(`${dir}/cairn.toml`, BASE + "jitter = 5\n");
    const e2 = await loadJobConfig(`${dir}/cairn.toml`, OPTS).catch((e) => e);
    assertEquals(
      e2.message,
      `${dir}/cairn.toml:10: job "etc": key "jitter": expected a string, got an integer`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseJobConfig() refuses a signed-size document with one long dotted key at once", () => {
  // 120 KB, one key of 60,000 parts: this cost the agent 43 s and 3.8 GB.
  const key = Array.from({ length: 60_000 }, () => "a").join(".");
  const doc = `version = 1\nexpires = 2030-01-01T00:00:00Z\n${key} = 1\n`;
  const e = assertThrows(() => parseJobConfig(doc, "remote.toml", { remote: true }), ConfigError);
  assertEquals(e.message, `remote.toml:3: key "a": unknown key`);
});

Deno.test("parseJobConfig() reads an array line of 20,000 spaces in linear time", () => {
  // Valid TOML: a nested array split over lines. The line scanner's header
  // patterns were cubic on it (5 s for 2,000 spaces, 39 s for 4,000).
  const text = BASE + `exclude = [\n[${" ".repeat(20_000)}"*.tmp"]]\n`;
  assertMatch(
    error(text).message,
    /^cairn\.toml:10: job "etc": key "exclude\[0\]": expected a string/,
  );
});

Deno.test("loadJobConfig() and parseJobConfig() refuse more than 1 MiB with one line", async () => {
  const big = BASE + `tags = ["${"x".repeat(1 << 20)}"]\n`;
  assertThrows(
    () => parseJobConfig(big, "cairn.toml", OPTS),
    ConfigError,
    "cairn.toml: too large: more than 1048576 bytes",
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cairn.toml`, big);
    const e = await loadJobConfig(`${dir}/cairn.toml`, OPTS).catch((e) => e);
    assert(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
    assertEquals(e.message, `${dir}/cairn.toml: too large: more than 1048576 bytes`);
    // Exactly at the bound is fine (the document is then checked as usual).
    const at = BASE + `tags = ["${"x".repeat((1 << 20) - BASE.length - 12)}"]\n`;
    assertEquals(new TextEncoder().encode(at).length, 1 << 20);
    await Deno.writeTextFile(`${dir}/cairn.toml`, at);
    assertEquals((await loadJobConfig(`${dir}/cairn.toml`, OPTS)).jobs[0].tags[0].length > 0, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseJobConfig() reads restic's selection keys; files_from may stand for paths", () => {
  const job = parse(`[repository.local]
path = "/var/backups/cairn"
password_file = "/etc/cairn/password"

[[job]]
name = "home"
files_from = "~/backup.list"
exclude_file = ["/etc/cairn/excludes", "$DATA/more"]
iexclude = ["*.ISO"]
iexclude_file = "/etc/cairn/iexcludes"
exclude_caches = true
exclude_larger_than = "1.5G"
exclude_if_present = ".nobackup"
`).jobs[0];
  assertEquals(job.paths, []);
  assertEquals(job.filesFrom, ["/home/ann/backup.list"]);
  assertEquals(job.excludeFile, ["/etc/cairn/excludes", "/srv/data/more"]);
  assertEquals(job.iexclude, ["*.ISO"]);
  assertEquals(job.iexcludeFile, ["/etc/cairn/iexcludes"]);
  assertEquals(job.excludeCaches, true);
  assertEquals(job.excludeLargerThan, Math.floor(1.5 * 1024 ** 3));
  assertEquals(job.excludeIfPresent, [".nobackup"]);
  assertEquals(parse(BASE + "exclude_larger_than = 4096\n").jobs[0].excludeLargerThan, 4096);
  assertMatch(
    error(BASE + `exclude_larger_than = "huge"\n`).message,
    /key "exclude_larger_than": expected a size like "2M" or a number of bytes/,
  );
  assertMatch(
    error(sub(BASE, `paths = ["/etc"]`, "")).message,
    /key "paths": required key is missing/,
    "no paths and no files_from",
  );
});

Deno.test("parseJobConfig() refuses list files in a remote document", () => {
  for (const key of ["files_from", "exclude_file", "iexclude_file"]) {
    const e = assertThrows(
      () =>
        parse(DOC + `${key} = "/etc/list"\n`, {
          remote: true,
          repositories: LOCAL_REPOS,
          uid: 0,
        }),
      ConfigError,
    );
    assertMatch(e.message, /list files are not allowed in remote job documents/);
  }
});

Deno.test("parseJobConfig() reads health-check URLs, refuses other schemes and remote documents", () => {
  const job =
    parse(BASE + `health_url = "https://hc-ping.com/u"\nhealth_failure_url = "http://mon/f"\n`)
      .jobs[0];
  assertEquals(job.health, {
    start: "https://hc-ping.com/u/start",
    success: "https://hc-ping.com/u",
    failure: "http://mon/f",
  });
  assertEquals(parse(BASE).jobs[0].health, undefined);
  assertMatch(
    error(BASE + `health_url = "ftp://hc/u"\n`).message,
    /key "health_url": not an http\(s\) URL/,
  );
  const e = assertThrows(
    () =>
      parse(DOC + `health_url = "https://hc/u"\n`, {
        remote: true,
        repositories: LOCAL_REPOS,
        uid: 0,
      }),
    ConfigError,
  );
  assertMatch(e.message, /health pings are not allowed in remote job documents/);
});

Deno.test("parseJobConfig() reads copy_to and rejects bad entries naming them", () => {
  const doc = (copyTo: string) =>
    `[repository.offsite]\npath = "/mnt/offsite"\n[repository.usb]\npath = "/mnt/usb"\n` +
    BASE + `copy_to = ${copyTo}\n`;
  const config = parse(doc(`["offsite", { repository = "usb", keep = { last = 2 } }]`));
  assertEquals(config.jobs[0].copyTo, [
    { repository: "offsite" },
    { repository: "usb", keep: { last: 2 } },
  ]);
  assertEquals(parse(doc(`[]`)).jobs[0].copyTo, undefined);
  assertEquals(parse(BASE).jobs[0].copyTo, undefined);
  const cases: [string, RegExp][] = [
    [
      `["offsite", "elsewhere"]`,
      /^cairn\.toml:14: job "etc": key "copy_to\[1\]": unknown repository "elsewhere" \(defined: "offsite", "usb", "local"\)$/,
    ],
    [`["local"]`, /key "copy_to\[0\]": "local" is the job's own repository$/],
    [`["usb", "usb"]`, /key "copy_to\[1\]": repository "usb" is named twice$/],
    [`"offsite"`, /key "copy_to": expected an array of repository names/],
    [`[3]`, /key "copy_to\[0\]": expected a repository name or/],
    [`[{ repository = "usb", kep = {} }]`, /key "copy_to\[0\]\.kep": unknown key/],
    [`[{ keep = { last = 1 } }]`, /key "copy_to\[0\]\.repository": required key is missing/],
    [`[{ repository = "usb", keep = {} }]`, /key "copy_to\[0\]\.keep": keep policy keeps nothing/],
  ];
  for (const [value, want] of cases) assertMatch(error(doc(value)).message, want);
});

Deno.test("parseJobConfig() refuses copy_to in remote documents", () => {
  const local = parse(`[repository.a]\npath = "/a"\n[repository.b]\npath = "/b"\n`).repositories;
  const doc = `version = 1\n[[job]]\nname = "x"\nrepository = "a"\npaths = ["/srv"]\n` +
    `copy_to = ["b"]\n`;
  assertMatch(
    error(doc, { remote: true, uid: 0, repositories: local }).message,
    /key "copy_to": copy_to is not allowed in remote job documents/,
  );
});

Deno.test("parseJobConfig() turns a repository's prune and check tables into scheduled jobs", () => {
  const maint = sub(
    BASE,
    `password_file = "/etc/cairn/password"\n`,
    `password_file = "/etc/cairn/password"
prune = { schedule = "@weekly", jitter = "1h", grace = "2h", max_unused = 10 }
[repository.local.check]
schedule = "@daily"
read_data_subset = "5%"
`,
  );
  const config = parse(maint);
  assertEquals(config.jobs.map((j) => [j.name, j.repository, j.schedule, j.maintenance]), [
    ["etc", "local", "0 2 * * *", undefined],
    ["local.prune", "local", "@weekly", {
      task: "prune",
      graceMs: 7200_000,
      maxUnusedFraction: 0.1,
    }],
    ["local.check", "local", "@daily", { task: "check", readDataSubset: "5%" }],
  ]);
  assertEquals(config.jobs[1].jitterMs, 3600_000);
  assertEquals(config.jobs[1].paths, []);

  const bad = (table: string, want: RegExp) => {
    const text = sub(
      BASE,
      `password_file = "/etc/cairn/password"\n`,
      `password_file = "/etc/cairn/password"\n${table}\n`,
    );
    assertMatch(error(text).message, want);
  };
  bad(`check = { read_data_subset = "5%" }`, /check\.schedule.*required key is missing/);
  bad(`check = { schedule = "@daily", read_data_subset = "half" }`, /read_data_subset.*"half"/);
  bad(
    `check = { schedule = "@daily", read_data = true, read_data_subset = "1/2" }`,
    /not both/,
  );
  bad(`prune = { schedule = "every day" }`, /prune\.schedule/);
  bad(`prune = { schedule = "@daily", max_unused = 200 }`, /max_unused.*at most 100/);
  bad(`prune = { schedule = "@daily", keep_last = 3 }`, /prune\.keep_last.*unknown key/);
  // A job may not take the name a repository's task runs under.
  const withPrune = sub(
    BASE,
    `password_file = "/etc/cairn/password"\n`,
    `password_file = "/etc/cairn/password"\nprune = { schedule = "@daily" }\n`,
  ) + `[[job]]\nname = "local.prune"\nrepository = "local"\npaths = ["/srv"]\n`;
  assertMatch(error(withPrune).message, /job "local\.prune".*scheduled prune/);
});
