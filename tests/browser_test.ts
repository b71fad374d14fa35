/** The browser helper itself: Chromium starts, renders a page and takes a screenshot. */
import { assertEquals } from "../src/testing/asserts.ts";
import { artefactDir, launchBrowser, NO_CHROMIUM } from "./_browser.ts";
import { join } from "node:path";

Deno.test({
  name: "launchBrowser() renders a page in headless Chromium and saves a screenshot",
  ignore: NO_CHROMIUM,
  async fn() {
    const b = await launchBrowser();
    try {
      const page = await b.browser.newPage();
      await page.setContent("<title>t</title><p id=x>cairn</p>");
      assertEquals(await page.$eval("#x", (e) => e.textContent), "cairn");
      const png = join(await artefactDir("browser"), "helper.png");
      await page.screenshot({ path: png as `${string}.png` });
      const head = (await Deno.readFile(png)).subarray(0, 4);
      assertEquals([...head], [0x89, 0x50, 0x4e, 0x47]);
    } finally {
      await b.close();
    }
  },
});
