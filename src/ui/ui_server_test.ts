import { backup } from "../archiver/mod.ts";
import { LocalBackend } from "../backend/mod.ts";
import { Repository } from "../repo/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { startUi } from "./mod.ts";

const HOSTILE = `<b>&"x'.txt`;

async function fixture() {
  const dir = await Deno.makeTempDir({ prefix: "cairn-ui-" });
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/docs`, { recursive: true });
  const big = new Uint8Array(3 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 13)) & 0xff;
  await Deno.writeFile(`${src}/docs/big.bin`, big);
  await Deno.writeTextFile(`${src}/docs/${HOSTILE}`, "hostile\n");
  const repo = await Repository.init(await LocalBackend.create(`${dir}/repo`), "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  const first = await backup(repo, { paths: [src], host: "web1", job: "home", workers: 1 });
  await Deno.writeTextFile(`${src}/docs/new.txt`, "new\n");
  const second = await backup(repo, { paths: [src], host: "web1", job: "home", workers: 1 });
  const ac = new AbortController();
  const ui = startUi({ repo, signal: ac.signal, snapshotCacheMs: 0 });
  const base = `http://127.0.0.1:${ui.addr.port}`;
  const auth = { authorization: `Bearer ${ui.token}` };
  return {
    dir,
    src,
    big,
    base,
    ui,
    auth,
    ids: [first.id, second.id],
    get: (path: string, init: RequestInit = {}) =>
      fetch(base + path, { ...init, headers: { ...auth, ...init.headers } }),
    async close() {
      ac.abort();
      await ui.finished;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("cairn ui refuses every request without the token, and trades ?token= for a cookie", async () => {
  const f = await fixture();
  try {
    for (const path of ["/", "/app.js", "/api/snapshots", "/dav/", `/?token=${"0".repeat(64)}`]) {
      const res = await fetch(f.base + path, { redirect: "manual" });
      await res.body?.cancel();
      assertEquals(res.status, 401, path);
    }
    const res = await fetch(f.ui.url, { redirect: "manual" });
    assertEquals(res.status, 303);
    assertEquals(res.headers.get("location"), "/");
    const cookie = res.headers.get("set-cookie")!;
    assert(cookie.includes("HttpOnly") && cookie.includes("SameSite=Strict"), cookie);
    const page = await fetch(f.base + "/", { headers: { cookie: cookie.split(";")[0] } });
    assertEquals(page.status, 200);
    assert(page.headers.get("content-security-policy")!.includes("script-src 'self'"));
    assert((await page.text()).includes(`<script src="/app.js"`));
    const basic = await fetch(f.base + "/dav/", {
      method: "PROPFIND",
      headers: { depth: "0", authorization: `Basic ${btoa("anyone:" + f.ui.token)}` },
    });
    await basic.body?.cancel();
    assertEquals(basic.status, 207);
  } finally {
    await f.close();
  }
});

Deno.test("the ui API lists, downloads whole files and ranges, and refuses what is not there", async () => {
  const f = await fixture();
  try {
    const { snapshots } = await (await f.get("/api/snapshots")).json();
    assertEquals(snapshots.map((s: { id: string }) => s.id).sort(), [...f.ids].sort());
    const id = f.ids[1];
    const docs = `${f.src}/docs`;
    const ls = await (await f.get(`/api/ls?snapshot=${id}&path=${encodeURIComponent(docs)}`))
      .json();
    assertEquals(
      ls.entries.map((e: { name: string }) => e.name),
      [HOSTILE, "big.bin", "new.txt"].sort(),
    );
    const file = `/api/file?snapshot=${id}&path=${encodeURIComponent(docs + "/big.bin")}`;
    const whole = await f.get(file);
    assertEquals(whole.headers.get("content-length"), String(f.big.length));
    assertEquals(new Uint8Array(await whole.arrayBuffer()), f.big);
    const part = await f.get(file, { headers: { range: "bytes=1000000-2500000" } });
    assertEquals(part.status, 206);
    assertEquals(part.headers.get("content-range"), `bytes 1000000-2500000/${f.big.length}`);
    assertEquals(new Uint8Array(await part.arrayBuffer()), f.big.subarray(1000000, 2500001));
    const past = await f.get(file, { headers: { range: `bytes=${f.big.length}-` } });
    await past.body?.cancel();
    assertEquals(past.status, 416);
    const missing = await f.get(`/api/file?snapshot=${id}&path=/nope`);
    assertEquals(missing.status, 404);
    assert((await missing.json()).error.includes("/nope"));
    const tar = await f.get(
      `/api/archive?snapshot=${id}&path=${encodeURIComponent(docs)}&format=tar`,
    );
    const bytes = new Uint8Array(await tar.arrayBuffer());
    const out = await new Deno.Command("tar", { args: ["-t"], stdin: "piped", stdout: "piped" })
      .spawn();
    const w = out.stdin.getWriter();
    await w.write(bytes);
    await w.close();
    const names = new TextDecoder().decode((await out.output()).stdout).trim().split("\n").sort();
    assertEquals(names, ["docs/", `docs/${HOSTILE}`, "docs/big.bin", "docs/new.txt"].sort());
  } finally {
    await f.close();
  }
});

Deno.test("the ui API diffs two snapshots and finds names across them", async () => {
  const f = await fixture();
  try {
    const [a, b] = f.ids;
    const d = await (await f.get(`/api/diff?a=${a}&b=${b}`)).json();
    assertEquals(d.summary.added, 1);
    assert(
      d.entries.some((e: { path: string; change: string }) =>
        e.path.endsWith("/docs/new.txt") && e.change === "added"
      ),
    );
    const found = await (await f.get(`/api/find?glob=${encodeURIComponent("*.bin")}`)).json();
    assertEquals(found.paths.length, 1);
    assertEquals(found.paths[0].versions[0].snapshots.length, 2);
  } finally {
    await f.close();
  }
});

Deno.test("a restore from the ui refuses a relative target and writes the chosen folder into an absolute one", async () => {
  const f = await fixture();
  try {
    const post = (body: unknown) =>
      f.get("/api/restore", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const docs = `${f.src}/docs`;
    const bad = await post({ snapshot: f.ids[1], path: docs, target: "relative/dir" });
    assertEquals(bad.status, 400);
    assert((await bad.json()).error.includes("not an absolute path"));
    const target = `${f.dir}/out`;
    const res = await post({ snapshot: f.ids[1], path: docs, target });
    assertEquals(res.status, 202);
    const { id } = await res.json();
    let st: { state: string; files: number };
    do {
      await new Promise((r) => setTimeout(r, 50));
      st = await (await f.get(`/api/restore?id=${id}`)).json();
    } while (st.state === "running");
    assertEquals(st.state, "done");
    assertEquals(st.files, 3);
    assertEquals(await Deno.readFile(`${target}/docs/big.bin`), f.big);
    assertEquals(await Deno.readTextFile(`${target}/docs/${HOSTILE}`), "hostile\n");
  } finally {
    await f.close();
  }
});

Deno.test("WebDAV lists HOST/JOB/TIME folders and snapshot entries, escaped, and is read-only", async () => {
  const f = await fixture();
  try {
    const { snapshots } = await (await f.get("/api/snapshots")).json();
    const dav: string = snapshots.find((s: { id: string }) => s.id === f.ids[1]).dav;
    assert(dav.startsWith("/dav/web1/home/"), dav);
    const docs = dav + f.src.slice(1).split("/").map(encodeURIComponent).join("/") + "/docs/";
    const list = await f.get(docs, { method: "PROPFIND", headers: { depth: "1" } });
    assertEquals(list.status, 207);
    const xml = await list.text();
    assert(xml.includes("&lt;b&gt;&amp;&quot;x&#39;.txt"), xml);
    assert(!xml.includes(HOSTILE));
    assert(xml.includes(`/docs/%3Cb%3E%26%22x&#39;.txt</d:href>`), xml);
    assert(xml.includes(`<d:getcontentlength>${f.big.length}</d:getcontentlength>`));
    const deep = await f.get(docs, { method: "PROPFIND" });
    await deep.body?.cancel();
    assertEquals(deep.status, 403); // Depth: infinity
    const part = await f.get(docs + "big.bin", { headers: { range: "bytes=-10" } });
    assertEquals(new Uint8Array(await part.arrayBuffer()), f.big.subarray(f.big.length - 10));
    for (const method of ["PUT", "DELETE", "MKCOL", "MOVE", "LOCK", "PROPPATCH"]) {
      const res = await f.get(docs + "big.bin", {
        method,
        body: method === "PUT" ? "x" : undefined,
      });
      await res.body?.cancel();
      assertEquals(res.status, 405, method);
    }
    const opts = await f.get("/dav/", { method: "OPTIONS" });
    assertEquals(opts.headers.get("dav"), "1");
  } finally {
    await f.close();
  }
});
