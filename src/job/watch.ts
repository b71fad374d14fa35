/**
 * Reloading the job file on SIGHUP and when it changes on disk.
 *
 * The real signal and file-system wiring is a thin default that can be
 * replaced, so the reload logic (debounce, keep the old config on error) is
 * tested without signals or inotify.
 *
 * @module
 */

import { basename, dirname, resolve } from "node:path";
import { onAbort } from "../fs/mod.ts";
import { loadJobConfig } from "./config.ts";
import type { JobConfig } from "./types.ts";

/** Subscribes to a trigger until `signal` is aborted. */
export type Subscribe = (path: string, trigger: () => void, signal: AbortSignal) => void;

/** Options for {@linkcode watchConfig}. */
export interface WatchConfigOptions {
  path: string;
  /** Receives each valid new config. */
  onReload: (config: JobConfig) => void;
  /** Receives load errors (one-line ConfigErrors); the old config stays. Default: `console.error(message)`. */
  onError?: (error: Error) => void;
  /** Default: {@linkcode loadJobConfig}. */
  load?: (path: string) => Promise<JobConfig>;
  /** Stops watching. */
  signal?: AbortSignal;
  /** Editors write files in several steps; wait this long after the last change. Default 300 ms. */
  debounceMs?: number;
  /** Default: {@linkcode watchFileChanges}. */
  watchFile?: Subscribe;
  /** Default: {@linkcode listenForSighup}. */
  onHangup?: Subscribe;
}

/**
 * Watches the directory rather than the file: editors and config management
 * replace files by renaming, which would silently end a watch on the file's inode.
 */
export const watchFileChanges: Subscribe = (path, trigger, signal) => {
  const full = resolve(path);
  const watcher = Deno.watchFs(dirname(full), { recursive: false });
  onAbort(signal, () => watcher.close());
  (async () => {
    for await (const event of watcher) {
      if (event.paths.some((p) => basename(p) === basename(full))) trigger();
    }
  })().catch(() => {});
};

/** `Deno.addSignalListener("SIGHUP", …)` until aborted. */
export const listenForSighup: Subscribe = (_path, trigger, signal) => {
  Deno.addSignalListener("SIGHUP", trigger);
  onAbort(signal, () => Deno.removeSignalListener("SIGHUP", trigger));
};

/** Handle returned by {@linkcode watchConfig}. */
export interface ConfigWatcher {
  /** Loads the file now (as SIGHUP does); resolves when done. */
  reload(): Promise<void>;
}

/** Reloads the job file on SIGHUP and on changes, keeping the old config if the new one is invalid. */
export function watchConfig(options: WatchConfigOptions): ConfigWatcher {
  const load = options.load ?? ((p: string) => loadJobConfig(p));
  const onError = options.onError ?? ((e: Error) => console.error(e.message));
  const signal = options.signal ?? new AbortController().signal;
  const debounceMs = options.debounceMs ?? 300;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const reload = (): Promise<void> => {
    if (running) {
      again = true; // one more load after the current one, never two at once
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          const config = await load(options.path);
          if (!signal.aborted) options.onReload(config);
        } catch (e) {
          onError(e instanceof Error ? e : new Error(String(e)));
        }
      } while (again && !signal.aborted);
    })().finally(() => (running = undefined));
    return running;
  };

  const debounced = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
  };
  onAbort(signal, () => clearTimeout(timer));
  (options.watchFile ?? watchFileChanges)(options.path, debounced, signal);
  (options.onHangup ?? listenForSighup)(options.path, () => void reload(), signal);
  return { reload };
}
