import assert from "node:assert/strict";
import { checkAllowed, isUnderPrefix } from "./allow.ts";

const rules = { repositories: ["main"], paths: ["/srv", "/home/"] };
const job = (paths: string[], repository = "main") => ({
  jobs: [{ name: "web", repository, paths }],
});

Deno.test("isUnderPrefix() matches whole path components only", () => {
  assert.ok(isUnderPrefix("/srv", "/srv"));
  assert.ok(isUnderPrefix("/srv/x", "/srv"));
  assert.ok(isUnderPrefix("/srv/x", "/srv/"));
  assert.ok(!isUnderPrefix("/srvx", "/srv"));
  assert.ok(!isUnderPrefix("/", "/srv"));
  assert.ok(isUnderPrefix("/etc", "/"));
});

Deno.test("checkAllowed() accepts jobs inside the allowed repositories and paths", () => {
  assert.equal(checkAllowed(job(["/srv/www", "/home/ann", "/srv"]), rules), undefined);
});

Deno.test("checkAllowed() rejects a path outside every prefix, naming job and path", () => {
  assert.equal(
    checkAllowed(job(["/srv/www", "/srvx"]), rules),
    'job "web": path "/srvx" is not under any remote.allow.paths prefix',
  );
  assert.match(checkAllowed(job(["/etc"]), rules)!, /not under any/);
});

Deno.test("checkAllowed() rejects paths that escape a prefix with dot segments", () => {
  assert.match(checkAllowed(job(["/srv/../etc"]), rules)!, /is not normalized/);
  assert.match(checkAllowed(job(["/srv/./x"]), rules)!, /is not normalized/);
  assert.match(checkAllowed(job(["//etc"]), rules)!, /is not normalized/);
  assert.match(checkAllowed(job(["srv/x"]), rules)!, /is not absolute/);
});

Deno.test("checkAllowed() rejects a repository not in the allow list", () => {
  assert.equal(
    checkAllowed(job(["/srv"], "evil"), rules),
    'job "web": repository "evil" is not in remote.allow.repositories',
  );
  const defines = { ...job(["/srv"]), repositories: { main: {}, evil: {} } };
  assert.match(checkAllowed(defines, rules)!, /repository "evil" is not in/);
});

Deno.test("checkAllowed() with empty rules allows nothing", () => {
  assert.match(checkAllowed(job(["/srv"]), { repositories: [], paths: [] })!, /repository/);
});

Deno.test("checkAllowed() with local repositories rejects a redefined repository", () => {
  const local = { main: { path: "/backup/main", passwordFile: "/etc/cairn/pw" } };
  const doc = (def: object) => ({ ...job(["/srv"]), repositories: { main: def } });
  assert.equal(
    checkAllowed(doc({ path: "/backup/main", passwordFile: "/etc/cairn/pw" }), rules, local),
    undefined,
  );
  assert.equal(
    checkAllowed(doc({ url: "s3:evil/bucket", passwordFile: "/etc/hostname" }), rules, local),
    'repository "main" differs from the local definition',
  );
});

Deno.test("checkAllowed() rejects hooks, mirrors and metrics files in a remote document", () => {
  const withJob = (extra: object) => ({
    jobs: [{ name: "web", repository: "main", paths: ["/srv"], ...extra }],
  });
  assert.match(checkAllowed(withJob({ before: [{ argv: ["id"] }] }), rules)!, /hooks/);
  assert.match(checkAllowed(withJob({ mirror: { path: "/etc/cron.d" } }), rules)!, /mirror/);
  assert.equal(checkAllowed(withJob({ before: [], after: [] }), rules), undefined);
  assert.match(checkAllowed({ ...withJob({}), metricsFile: "/etc/x" }, rules)!, /metrics_file/);
});
