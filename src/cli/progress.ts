/**
 * Progress like restic's, for every long command: one status line with the
 * elapsed time, percent, what is done against the total, rate and ETA, and
 * below it the file(s) in progress. Drawn in place on a terminal (stderr);
 * `--progress` or `CAIRN_PROGRESS=1` forces it elsewhere as plain lines (a
 * frame every `1/CAIRN_PROGRESS_FPS` s and a last one at the end), which is
 * how the tests read it.
 *
 * @module
 */
import type { CommandContext, OptionSpec } from "./command.ts";
import { formatBytes, printable } from "./output.ts";

/** The `--progress` option of the commands that show progress. */
export const PROGRESS_OPTION: OptionSpec = {
  type: "boolean",
  description: "show progress even when stderr is not a terminal (also $CAIRN_PROGRESS=1)",
};

/** One moment of a long command, as a {@link ProgressMeter} samples it. */
export interface ProgressFrame {
  /** Items done (files, packs, …) and their bytes. */
  items: number;
  bytes: number;
  /** The totals, when known; `final` once they will not grow. */
  total?: { items: number; bytes: number; final: boolean };
  /** What the items are called: `files`, `packs`, `files/dirs`. */
  unit: string;
  errors?: number;
  /** Files being worked on now. */
  current?: readonly string[];
  /**
   * The share done (0..1), when the work knows it better than bytes or items
   * against totals (`copy`: snapshots, and the bytes of the current one);
   * percent and ETA then go by it.
   */
  ratio?: number;
}

/** `[1:02:03]` or `[2:03]`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * The lines of one frame, e.g.
 * `[0:05] 12.34%  1234 files 567.8 MiB, total 10000 files 4.6 GiB, 12.0 MiB/s, 0 errors, ETA 0:35`.
 * The percentage and ETA go by bytes (by items when there are no bytes to go by).
 */
export function formatFrame(f: ProgressFrame, elapsedS: number): string[] {
  const parts: string[] = [`[${formatDuration(elapsedS)}]`];
  const t = f.total;
  const byBytes = t !== undefined && t.bytes > 0;
  const ratio = f.ratio !== undefined
    ? f.ratio
    : t === undefined
    ? undefined
    : byBytes
    ? f.bytes / t.bytes
    : t.items > 0
    ? f.items / t.items
    : undefined;
  if (ratio !== undefined) parts.push(`${(Math.min(1, ratio) * 100).toFixed(2)}% `);
  let line = parts.join(" ") + ` ${f.items} ${f.unit} ${formatBytes(f.bytes)}`;
  if (t) {
    const bytes = t.bytes > 0 || f.ratio === undefined ? ` ${formatBytes(t.bytes)}` : "";
    line += `, total ${t.items} ${f.unit}${bytes}${t.final ? "" : "+"}`;
  }
  const rate = f.bytes / Math.max(elapsedS, 0.001);
  if (f.bytes > 0) line += `, ${formatBytes(rate)}/s`;
  if (f.errors !== undefined) line += `, ${f.errors} errors`;
  // By bytes, nothing read yet gives no rate to go by (the ETA would be years).
  if (ratio !== undefined && ratio < 1 && elapsedS > 0 && (!byBytes || f.bytes > 0)) {
    const left = byBytes && f.ratio === undefined
      ? (t!.bytes - f.bytes) / Math.max(rate, 1e-9)
      : elapsedS * (1 - ratio) / Math.max(ratio, 1e-9);
    if (Number.isFinite(left)) line += `, ETA ${formatDuration(left)}`;
  }
  return [line, ...(f.current ?? []).map((p) => `  ${printable(p)}`)];
}

/** Whether this command shows progress: forced by `--progress`/`CAIRN_PROGRESS`, else on a terminal unless `--quiet`. */
export function progressWanted(ctx: Pick<CommandContext, "flags" | "env" | "output">): boolean {
  if (ctx.flags.progress === true) return true;
  const env = ctx.env.CAIRN_PROGRESS;
  if (env !== undefined && env !== "") return env !== "0" && env !== "false";
  return ctx.output.interactive && ctx.output.log.verbosity !== "quiet";
}

/** A running display; {@link stop} ends it (idempotent). */
export interface ProgressMeter {
  stop(): void;
}

/**
 * Samples `frame` and draws it until {@link ProgressMeter.stop}; a no-op
 * meter when progress is not wanted. On a terminal the status is cleared at
 * the end (the command's summary follows); forced elsewhere, the last frame
 * is printed as it stands.
 */
export function startProgress(
  ctx: Pick<CommandContext, "flags" | "env" | "output">,
  frame: () => ProgressFrame | undefined,
): ProgressMeter {
  if (!progressWanted(ctx)) return { stop() {} };
  const { output } = ctx;
  const started = performance.now();
  const fps = Number(ctx.env.CAIRN_PROGRESS_FPS) || (output.interactive ? 4 : 1);
  const draw = (last: boolean) => {
    const f = frame();
    if (!f) return;
    const lines = formatFrame(f, (performance.now() - started) / 1000);
    if (output.interactive) {
      if (!last) output.status(lines);
    } else {
      for (const l of lines) output.err(l);
    }
  };
  const timer = setInterval(() => draw(false), 1000 / Math.min(Math.max(fps, 0.01), 60));
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw(true);
      if (output.interactive) output.status([]);
    },
  };
}
