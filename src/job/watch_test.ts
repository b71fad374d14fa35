import { ConfigError } from "./config_error.ts";
import { loadJobConfig } from "./config.ts";
import type { JobConfig } from "./types.ts";
import { watchConfig } from "./watch.ts";
import { assertEquals } from "../testing/asserts.ts";

const GOOD =
  `state_dir = "/tmp/s"\n[repository.r]\npath = "/r"\n[[job]]\nname = "a"\npaths = ["/a"]\n`;

function setup(files: string[]) {
  let fileChanged = () => {};
  let hangup = () => {};
  const loaded: JobConfig[] = [];
  const errors: string[] = [];
  const controller = new AbortController();
  const w = watchConfig({
    path: "cairn.toml",
    load: (path) => {
      const text = files.shift()!;
      return Promise.resolve().then(() => {
        const dir = Deno.makeTempDirSync();
        Deno.writeTextFileSync(`${dir}/${path}`, text);
        return loadJobConfig(`${dir}/${path}`, { env: {}, uid: 0 }).finally(() =>
          Deno.removeSync(dir, { recursive: true })
        );
      });
    },
    onReload: (c) => loaded.push(c),
    onError: (e) => errors.push(e.message.replace(/^.*cairn\.toml/, "cairn.toml")),
    signal: controller.signal,
    debounceMs: 5,
    watchFile: (_p, trigger) => (fileChanged = trigger),
    onHangup: (_p, trigger) => (hangup = trigger),
  });
  return {
    w,
    loaded,
    errors,
    controller,
    fileChanged: () => fileChanged(),
    hangup: () => hangup(),
  };
}

Deno.test("watchConfig() reloads on SIGHUP and keeps the old config when the new file is invalid", async () => {
  const s = setup([GOOD, GOOD.replace(`"/a"`, `"a"`)]);
  s.hangup();
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(s.loaded.map((c) => c.jobs.map((j) => j.paths)), [[["/a"]]]);
  await s.w.reload(); // what SIGHUP does
  assertEquals(s.loaded.length, 1);
  assertEquals(s.errors, [`cairn.toml:6: job "a": key "paths[0]": path "a" is not absolute`]);
  s.controller.abort();
});

Deno.test("watchConfig() debounces a burst of file changes into one reload", async () => {
  const s = setup([GOOD, GOOD]);
  s.fileChanged();
  s.fileChanged();
  s.fileChanged();
  await new Promise((r) => setTimeout(r, 50));
  assertEquals([s.loaded.length, s.errors.length], [1, 0]);
  s.controller.abort();
});

Deno.test("watchConfig() with the real file watcher picks up a rewritten file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/cairn.toml`;
  await Deno.writeTextFile(path, GOOD);
  const controller = new AbortController();
  const loaded: JobConfig[] = [];
  const errors: Error[] = [];
  watchConfig({
    path,
    load: (p) => loadJobConfig(p, { env: {}, uid: 0 }),
    onReload: (c) => loaded.push(c),
    onError: (e) => errors.push(e),
    signal: controller.signal,
    debounceMs: 20,
    onHangup: () => {},
  });
  try {
    await new Promise((r) => setTimeout(r, 50));
    // Replace by rename, as editors and config management do.
    await Deno.writeTextFile(`${path}.new`, GOOD.replace(`"/a"`, `"/b"`));
    await Deno.rename(`${path}.new`, path);
    for (let i = 0; i < 100 && loaded.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(loaded.at(-1)?.jobs[0].paths, ["/b"]);
    assertEquals(errors.filter((e) => !(e instanceof ConfigError)), []);
  } finally {
    controller.abort();
    await Deno.remove(dir, { recursive: true });
  }
});
