/**
 * Headless Chromium for the browser tests (`cairn serve`'s dashboard,
 * `cairn ui`): Debian's `/usr/bin/chromium` driven by `puppeteer-core`, which
 * downloads no browser of its own. `.ci/run` installs the `chromium` package;
 * where it is absent, tests pass {@link NO_CHROMIUM} to `ignore` and say why.
 *
 * @module
 */

import puppeteer, { type Browser } from "puppeteer-core";
import { join } from "node:path";

/** The browser the tests drive. */
export const CHROMIUM = Deno.env.get("CAIRN_TEST_CHROMIUM") ?? "/usr/bin/chromium";

/** True when {@link CHROMIUM} is missing; pass it to `Deno.test`'s `ignore`. */
export const NO_CHROMIUM: boolean = (() => {
  try {
    return !Deno.statSync(CHROMIUM).isFile;
  } catch {
    console.error(`browser tests ignored: ${CHROMIUM} is missing (apt-get install chromium)`);
    return true;
  }
})();

/** A running headless browser with a fresh profile; `close()` removes the profile. */
export interface TestBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Launches {@link CHROMIUM} headless with a fresh `--user-data-dir`, no
 * sandbox (tests run as root), and nothing that reaches the network by itself
 * (updates, sync, QUIC, first-run pages).
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await Deno.makeTempDir({ prefix: "cairn-chromium-" });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * A directory for a test's artefacts (screenshots), kept after the test and
 * printed so a person can look: `$CAIRN_TEST_ARTEFACTS/NAME`, by default
 * under the system temp directory.
 */
export async function artefactDir(name: string): Promise<string> {
  const root = Deno.env.get("CAIRN_TEST_ARTEFACTS") ??
    join(Deno.env.get("TMPDIR") ?? "/tmp", "cairn-test-artefacts");
  const dir = join(root, name);
  await Deno.mkdir(dir, { recursive: true });
  console.log(`test artefacts: ${dir}`);
  return dir;
}
