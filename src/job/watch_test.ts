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
  /** Waiters for the next load's outcome (a reload or an error). */
  let outcome = Promise.withResolvers<void>();
  const settled = () => {
    outcome.resolve();
    outcome = Promise.withResolvers<void>();
  };
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
    onReload: (c) => {
      loaded.push(c);
      settled();
    },
    onError: (e) => {
      errors.push(e.message.replace(/^.*cairn\.toml/, "cairn.toml"));
      settled();
    },
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
    /** Settles when the next load has been reported. */
    nextOutcome: () => outcome.promise,
  };
}

/**
 * Replaces the global timers while `fn` runs with ones that fire only when
 * `fire()` is called, so debouncing is checked without waiting on a clock.
 */
async function withManualTimers(
  fn: (t: { pending: () => number; fire: () => void }) => Promise<void>,
) {
  const timers = new Map<number, () => void>();
  let next = 1;
  const real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout };
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  g.setTimeout = (cb: () => void) => {
    timers.set(next, cb);
    return next++;
  };
  g.clearTimeout = (id: number) => void timers.delete(id);
  try {
    await fn({
      pending: () => timers.size,
      fire: () => {
        const due = [...timers.values()];
        timers.clear();
        for (const cb of due) cb();
      },
    });
  } finally {
    Object.assign(globalThis, real);
  }
}

Deno.test("watchConfig() reloads on SIGHUP and keeps the old config when the new file is invalid", async () => {
  const s = setup([GOOD, GOOD.replace(`"/a"`, `"a"`)]);
  const loadedOnce = s.nextOutcome();
  s.hangup(); // loads at once: no debounce for a signal
  await loadedOnce;
  // The load's own promise settles in the microtasks after onReload; a
  // reload() asked for before then joins the finishing load. One turn of
  // the event loop (not a wait on the clock) lets it settle.
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(s.loaded.map((c) => c.jobs.map((j) => j.paths)), [[["/a"]]]);
  await s.w.reload(); // what SIGHUP does
  assertEquals(s.loaded.length, 1);
  assertEquals(s.errors, [`cairn.toml:6: job "a": key "paths[0]": path "a" is not absolute`]);
  s.controller.abort();
});

Deno.test("watchConfig() debounces a burst of file changes into one reload", async () => {
  await withManualTimers(async (timers) => {
    const s = setup([GOOD, GOOD]);
    s.fileChanged();
    s.fileChanged();
    s.fileChanged();
    assertEquals(timers.pending(), 1, "each change restarts the one timer");
    assertEquals(s.loaded.length, 0, "nothing loads before the quiet period ends");
    const outcome = s.nextOutcome();
    timers.fire();
    await outcome;
    assertEquals([s.loaded.length, s.errors.length, timers.pending()], [1, 0, 0]);
    s.controller.abort();
  });
});

Deno.test("watchConfig() with the real file watcher picks up a rewritten file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/cairn.toml`;
  await Deno.writeTextFile(path, GOOD);
  const controller = new AbortController();
  const loaded: JobConfig[] = [];
  const errors: Error[] = [];
  const reloaded = Promise.withResolvers<void>();
  watchConfig({
    path,
    load: (p) => loadJobConfig(p, { env: {}, uid: 0 }),
    onReload: (c) => {
      loaded.push(c);
      if (c.jobs[0].paths[0] === "/b") reloaded.resolve();
    },
    onError: (e) => errors.push(e),
    signal: controller.signal,
    debounceMs: 20,
    onHangup: () => {},
  });
  try {
    // The watch is in place once watchConfig() returns. Replace the file by
    // rename, as editors and config management do, and wait for its reload.
    await Deno.writeTextFile(`${path}.new`, GOOD.replace(`"/a"`, `"/b"`));
    await Deno.rename(`${path}.new`, path);
    await reloaded.promise;
    assertEquals(loaded.at(-1)?.jobs[0].paths, ["/b"]);
    assertEquals(errors.filter((e) => !(e instanceof ConfigError)), []);
  } finally {
    controller.abort();
    await Deno.remove(dir, { recursive: true });
  }
});
