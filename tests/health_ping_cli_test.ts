import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, makeRepo, writeJobFile } from "./_launcher.ts";

const UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/** A monitor on loopback recording each ping; `status` is what it answers. */
function monitor(status = 200) {
  const seen: { method: string; path: string; body: string }[] = [];
  const s = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    seen.push({ method: req.method, path: new URL(req.url).pathname, body: await req.text() });
    return new Response("OK", { status });
  });
  return { seen, url: `http://127.0.0.1:${s.addr.port}/${UUID}`, close: () => s.shutdown() };
}

async function setup(url: string, paths: string) {
  const { dir, env } = await makeRepo();
  await Deno.mkdir(`${dir}/src`);
  await Deno.writeTextFile(`${dir}/src/a.txt`, "alpha\n");
  const config = await writeJobFile(dir, env, [
    "[[job]]",
    `name = "web"`,
    `paths = [${paths.replaceAll("$SRC", `${dir}/src`)}]`,
    `health_url = "${url}"`,
  ]);
  return { dir, config, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("a job pings URL/start, then URL with the log tail on success, URL/fail on failure", async () => {
  const mon = monitor();
  try {
    {
      await using t = await setup(mon.url, `"$SRC"`);
      const r = await cairn(["run", "--config", t.config]);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assertEquals(mon.seen.map((s) => [s.method, s.path]), [
        ["GET", `/${UUID}/start`],
        ["POST", `/${UUID}`],
      ]);
      assertMatch(mon.seen[1].body, /job "web": success, snapshot [0-9a-f]{8}, 1 files/);
    }
    mon.seen.length = 0;
    {
      await using t = await setup(mon.url, `"$SRC/gone"`);
      const r = await cairn(["run", "--config", t.config]);
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertEquals(mon.seen.map((s) => s.path), [`/${UUID}/start`, `/${UUID}/fail`]);
      assertStringIncludes(mon.seen[1].body, "none of the sources can be read");
    }
  } finally {
    await mon.close();
  }
});

Deno.test("a monitor that fails or is down never fails the backup, and its URL stays out of the log", async () => {
  const broken = monitor(500);
  try {
    await using t = await setup(broken.url, `"$SRC"`);
    const r = await cairn(["run", "--config", t.config]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assertMatch(r.stdout, /job "web": success/);
    // Three attempts each for start and success.
    assertEquals(broken.seen.length, 6);
    assertStringIncludes(r.stderr, `warning: job "web": health ping to http://127.0.0.1:`);
    assertStringIncludes(r.stderr, "failed: HTTP 500");
    assert(!r.stderr.includes(UUID) && !r.stdout.includes(UUID), r.stderr);
  } finally {
    await broken.close();
  }
  await using down = await setup(`http://127.0.0.1:1/${UUID}`, `"$SRC"`);
  const r = await cairn(["run", "--config", down.config]);
  assertEquals(r.code, 0, r.stdout + r.stderr);
  assert(!r.stderr.includes(UUID), r.stderr);
});
