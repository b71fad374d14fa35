/**
 * `cairn serve`'s dashboard in a real headless Chromium: three hosts, one of
 * them stale, marked and listed first; a hostile job name renders as text;
 * without the dashboard token the page is refused. Screenshots are kept as
 * artefacts (the directory is printed).
 */
import { assert, assertEquals, assertMatch } from "../src/testing/asserts.ts";
import { artefactDir, launchBrowser, NO_CHROMIUM } from "./_browser.ts";
import { startServe } from "./_serve.ts";
import { join } from "node:path";

const TOKEN = "dash-" + crypto.randomUUID();

const iso = (ms: number) => new Date(ms).toISOString();

function report(host: string, job: string, endAgo: number, extra: Record<string, unknown> = {}) {
  const end = Date.now() - endAgo;
  return {
    host,
    job,
    start: iso(end - 90_000),
    end: iso(end),
    result: "success",
    snapshot: "3fa2b1c4d5e6",
    files: 1200,
    bytes: 5 << 20,
    error: null,
    ...extra,
  };
}

async function post(url: string, body: unknown) {
  const res = await fetch(url, { method: "POST", body: JSON.stringify(body) });
  const text = await res.text();
  assertEquals(res.status, 201, text);
}

Deno.test({
  name: "the dashboard in Chromium lists three hosts, the stale one marked and first",
  ignore: NO_CHROMIUM,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "cairn-dash-" });
    const jobsDir = join(dir, "jobs");
    await Deno.mkdir(join(jobsDir, "reports"), { recursive: true });
    const tokenFile = join(dir, "dashboard-token");
    await Deno.writeTextFile(tokenFile, TOKEN + "\n");
    // db1 last polled two hours ago and polls every minute: stale by the poll rule. Its
    // state is what a server that heard from it then would have kept on disk.
    const longAgo = Date.now() - 2 * 3600_000;
    await Deno.writeTextFile(
      join(jobsDir, "reports", "db1.poll.json"),
      JSON.stringify({
        lastPoll: longAgo,
        heartbeat: {
          host: "db1",
          poll_seconds: 60,
          running: null,
          jobs: [{ job: "pg", schedule: "0 * * * *", next_runs: [iso(longAgo + 60_000)] }],
          received: iso(longAgo),
        },
      }),
    );
    await Deno.writeTextFile(
      join(jobsDir, "reports", "db1.jsonl"),
      JSON.stringify({ ...report("db1", "pg", 3 * 3600_000), received: iso(longAgo) }) + "\n",
    );
    const server = await startServe(jobsDir, ["--dashboard-token", tokenFile]);
    const b = await launchBrowser();
    try {
      const agents = `${server.base}/v1/agents`;
      for (const host of ["web1", "web2"]) {
        await post(`${agents}/${host}/heartbeat`, {
          host,
          poll_seconds: 300,
          running: null,
          jobs: [{
            job: "www",
            schedule: "0 3 * * *",
            next_runs: [iso(Date.now() + 3600_000), iso(Date.now() + 25 * 3600_000)],
          }],
        });
        for (let d = 10; d >= 0; d--) {
          await post(
            `${agents}/${host}/reports`,
            report(host, "www", d * 86400_000 + 3600_000, { bytes: (d + 1) << 20 }),
          );
        }
      }
      await post(
        `${agents}/web2/reports`,
        report("web2", `<img src=x onerror="document.title='pwned'">`, 60_000, {
          result: "failed",
          error: `<script>document.title='pwned'</script>`,
        }),
      );

      // Without the token the request is refused: a 401 for a plain client, and the
      // browser (asked for credentials it does not have) never gets the page.
      const bare = await fetch(`${server.base}/`);
      assertEquals([bare.status, await bare.text()], [401, "unauthorized\n"]);
      const page = await b.browser.newPage();
      const refused = await page.goto(`${server.base}/`).then(
        (r) => `HTTP ${r?.status()}`,
        (e) => String(e.message),
      );
      assertMatch(refused, /^(HTTP 401|net::ERR_INVALID_AUTH_CREDENTIALS)/);
      assert(!(await page.content()).includes("cairn fleet"));

      await page.authenticate({ username: "admin", password: TOKEN });
      await page.setViewport({ width: 1400, height: 700 });
      const res = await page.goto(`${server.base}/`);
      assertEquals(res?.status(), 200);
      const rows = await page.$$eval(
        "tr[data-host]",
        (trs) => trs.map((tr) => [tr.getAttribute("data-host"), tr.classList.contains("stale")]),
      );
      const hosts = [...new Set(rows.map(([h]) => h))];
      assertEquals(hosts, ["db1", "web1", "web2"]);
      assertEquals(rows.filter(([, stale]) => stale).map(([h]) => h), ["db1"]);
      const badge = await page.$eval("tr.stale .badge", (e) => e.textContent);
      assertEquals(badge, "stale");
      const why = await page.$eval("tr.stale .why", (e) => e.textContent ?? "");
      assertMatch(why, /^no poll for 2 h/);
      // The hostile job name is shown as text; nothing of it ran.
      assertEquals(await page.title(), "cairn fleet");
      const jobs = await page.$$eval("td.job", (tds) => tds.map((td) => td.textContent));
      assert(jobs.includes(`<img src=x onerror="document.title='pwned'">`), String(jobs));
      assertEquals(await page.$$eval("td.job img", (imgs) => imgs.length), 0);
      assertEquals(await page.$$eval("svg.chart", (s) => s.length), 4);

      const out = await artefactDir("dashboard");
      await page.screenshot({
        path: join(out, "dashboard.png") as `${string}.png`,
        fullPage: true,
      });
      await page.goto(`${server.base}/host/web2`);
      assertEquals(await page.title(), "cairn: web2");
      const errors = await page.$$eval("pre.error", (p) => p.map((e) => e.textContent));
      assertEquals(errors, [`<script>document.title='pwned'</script>`]);
      await page.screenshot({
        path: join(out, "host-web2.png") as `${string}.png`,
        fullPage: true,
      });
    } finally {
      await b.close();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
