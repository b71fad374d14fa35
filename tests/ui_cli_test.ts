/**
 * `cairn ui` end to end: a real headless Chromium opens a snapshot, walks
 * into a folder and downloads a file; a request without the token is
 * refused; rclone lists and copies through the WebDAV side. Screenshots go
 * to the artefact directory (tests/_browser.ts).
 */
import { join } from "node:path";
import { assert, assertEquals } from "../src/testing/asserts.ts";
import { artefactDir, launchBrowser, NO_CHROMIUM } from "./_browser.ts";
import { cairn, cairnCommand, makeRepo, writeJobFile } from "./_launcher.ts";
import { startServer } from "./_serve.ts";

const HOSTILE = "<img src=x onerror=alert(1)>.txt";

const NO_RCLONE = (() => {
  try {
    return !Deno.statSync("/usr/bin/rclone").isFile;
  } catch {
    console.error(
      "WebDAV client test ignored: /usr/bin/rclone is missing (apt-get install rclone)",
    );
    return true;
  }
})();

/** A repository with one snapshot of `src/` (a folder `docs` with a 5 MiB file). */
async function backedUp() {
  const { dir, env } = await makeRepo();
  const src = join(dir, "src");
  await Deno.mkdir(join(src, "docs", "deep"), { recursive: true });
  const data = new Uint8Array(5 << 20);
  crypto.getRandomValues(data.subarray(0, 65536));
  for (let i = 65536; i < data.length; i++) data[i] = data[i - 65536] ^ (i >> 16);
  await Deno.writeFile(join(src, "docs", "data.bin"), data);
  await Deno.writeTextFile(join(src, "docs", "deep", HOSTILE), "a hostile name\n");
  const r = await cairn(["backup", src, "--host", "web1"], { env });
  assertEquals(r.code, 0, r.stderr);
  return { dir, env, src, data };
}

/** `cairn ui ARGS` on a free port; its URL read from stderr. */
async function startUiCli(args: string[], env: Record<string, string>) {
  const server = await startServer(
    cairnCommand(["ui", "--listen", "127.0.0.1:0", ...args], { env }),
    /cairn ui: open (http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{64})/,
  );
  const url = server.match[1];
  const u = new URL(url);
  return { url, base: u.origin, token: u.searchParams.get("token")!, stop: server.stop };
}

async function waitForFile(dir: string, name: string, ms = 30_000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    if (names.includes(name) && !names.some((n) => n.endsWith(".crdownload"))) {
      return join(dir, name);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no download ${name} in ${dir}`);
}

Deno.test({
  name: "cairn ui in Chromium: open a snapshot, walk into a folder, download a file byte for byte",
  ignore: NO_CHROMIUM,
  async fn() {
    const { dir, env, src, data } = await backedUp();
    const ui = await startUiCli([], env);
    const shots = await artefactDir("ui");
    const browser = await launchBrowser();
    try {
      // Without the token, nothing: not the page, not the API, not WebDAV.
      for (const path of ["/", "/api/snapshots", "/dav/"]) {
        const res = await fetch(ui.base + path);
        await res.body?.cancel();
        assertEquals(res.status, 401, path);
      }
      const stranger = await browser.browser.newPage();
      // A 401 with a Basic challenge: headless Chromium, with no one to ask, gives up.
      const refused = await stranger.goto(ui.base + "/").then(
        (r) => String(r?.status()),
        (err: Error) => err.message,
      );
      assert(/^401$|ERR_INVALID_AUTH_CREDENTIALS/.test(refused), refused);
      assertEquals(await stranger.$$eval("#main", (x) => x.length), 0);
      await stranger.close();

      const page = await browser.browser.newPage();
      await page.setViewport({ width: 1200, height: 800 });
      const downloads = join(dir, "downloads");
      await Deno.mkdir(downloads);
      const cdp = await page.createCDPSession();
      await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
      await page.goto(ui.url);
      assertEquals(new URL(page.url()).search, "", "the token leaves the address bar");
      await page.waitForSelector("a.snapshot");
      const summary = await page.$eval("#main p.muted", (p) => p.textContent ?? "");
      assert(summary.startsWith("1 snapshot, "), summary);
      await page.screenshot({ path: join(shots, "1-timeline.png") });
      await page.click("a.snapshot");
      for (const part of [...src.split("/").filter(Boolean), "docs"]) {
        const link = `a.dir[data-name="${part}"]`;
        await page.waitForSelector(link);
        await page.click(link);
      }
      await page.waitForSelector(`a.file[data-name="data.bin"]`);
      const names = await page.$$eval(
        "#entries a.dir, #entries a.file",
        (as) => as.map((a) => a.textContent),
      );
      assertEquals(names, ["data.bin", "deep/"]); // the tree's order, by name
      await page.screenshot({ path: join(shots, "2-folder.png") });
      await page.click(`a.dir[data-name="deep"]`);
      await page.waitForSelector(`a.file[data-name=${JSON.stringify(HOSTILE)}]`);
      // The hostile name is text: no <img> element was made from it.
      assertEquals(await page.$$eval("#entries img", (x) => x.length), 0);
      await page.screenshot({ path: join(shots, "3-hostile-name.png") });
      await page.goBack();
      await page.waitForSelector(`a.file[data-name="data.bin"]`);
      await page.click(`a.file[data-name="data.bin"]`);
      const got = await Deno.readFile(await waitForFile(downloads, "data.bin"));
      assertEquals(got.length, data.length);
      assert(got.every((b, i) => b === data[i]), "downloaded bytes differ from the source");
    } finally {
      await browser.close();
      const { code } = await ui.stop();
      assertEquals(code, 0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "cairn ui's WebDAV: rclone lists a snapshot folder and copies a file, bytes compared",
  ignore: NO_RCLONE,
  async fn() {
    const { dir, env, src, data } = await backedUp();
    // The job-file way in: --config FILE REPOSITORY.
    const config = await writeJobFile(dir, env, []);
    const ui = await startUiCli(["--config", config, "main"], {});
    try {
      const rclone = async (...args: string[]) => {
        const env2 = { ...Deno.env.toObject() };
        delete env2.AWS_CA_BUNDLE; // Debian's rclone refuses to start with it set
        const out = await new Deno.Command("rclone", {
          args: [...args, "--config", "/dev/null"],
          env: env2,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
        return text;
      };
      const pass = (await rclone("obscure", ui.token)).trim();
      const remote = [
        "--webdav-url",
        `${ui.base}/dav/`,
        "--webdav-user",
        "anyone",
        "--webdav-pass",
        pass,
      ];
      const times = (await rclone("lsf", ...remote, ":webdav:web1/_/")).trim().split("\n");
      assertEquals(times.length, 1);
      assert(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\/$/.test(times[0]), times[0]);
      const docs = `web1/_/${times[0]}${src.slice(1)}/docs`;
      const listing = (await rclone("lsf", ...remote, `:webdav:${docs}/`)).trim().split("\n");
      assertEquals(listing.sort(), ["data.bin", "deep/"]);
      const deep = (await rclone("lsf", ...remote, `:webdav:${docs}/deep/`)).trim();
      assertEquals(deep, HOSTILE);
      await rclone("copy", ...remote, `:webdav:${docs}/data.bin`, join(dir, "got"));
      const got = await Deno.readFile(join(dir, "got", "data.bin"));
      assertEquals(got.length, data.length);
      assert(got.every((b, i) => b === data[i]), "copied bytes differ from the source");
      // Without the password rclone is refused.
      const anon = await new Deno.Command("rclone", {
        args: ["lsf", "--webdav-url", `${ui.base}/dav/`, ":webdav:", "--config", "/dev/null"],
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin", HOME: dir },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert(anon.code !== 0, "rclone listed without the token");
    } finally {
      const { code, log } = await ui.stop();
      assertEquals(code, 0, log);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
