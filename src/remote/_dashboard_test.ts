import { assert, assertEquals } from "../testing/asserts.ts";
import { renderDashboard, renderHostPage } from "./_dashboard.ts";
import { FleetState, viewFleet } from "./_fleet_view.ts";

const T = Date.parse("2026-03-10T12:00:00Z");
const hostile = `<script>alert(1)</script>`;

function state() {
  const s = new FleetState();
  s.addReport({
    host: hostile,
    job: `"><img src=x onerror=alert(2)>`,
    start: new Date(T - 120_000).toISOString(),
    end: new Date(T - 60_000).toISOString(),
    result: "failed",
    snapshot: null,
    files: 0,
    bytes: 0,
    error: `</pre><script>alert(3)</script>`,
    received: new Date(T).toISOString(),
  });
  return s;
}

Deno.test("renderDashboard() escapes host and job names: no tag from an agent survives", () => {
  const page = renderDashboard(viewFleet(state(), T), { refreshSeconds: 30, now: T });
  assert(!page.includes("<script"), page);
  assert(!page.includes("<img"), page);
  assert(page.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert(page.includes(`href="/host/%3Cscript%3Ealert(1)%3C%2Fscript%3E"`));
  assert(page.includes(`<meta http-equiv="refresh" content="30">`));
});

Deno.test("renderHostPage() escapes error texts and lists the error", () => {
  const [h] = viewFleet(state(), T);
  const page = renderHostPage(h, { refreshSeconds: 30, now: T });
  assert(!page.includes("<script"), page);
  assertEquals(page.match(/&lt;\/pre&gt;&lt;script&gt;alert\(3\)/g)?.length, 1);
  assert(page.includes(`<span class="muted">none reported</span>`), "a failed job never succeeded");
});
