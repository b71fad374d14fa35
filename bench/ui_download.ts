/**
 * The memory of `cairn ui` while one big file downloads (issue 17: "the server
 * streams file contents blob by blob, so a 4 GiB file downloads with small
 * memory"):
 *
 *   deno run -A bench/ui_download.ts [--size BYTES] [--port 7700]
 *
 * A file of `--size` pseudo-random bytes (default 4 GiB; AES-CTR of zeros, so
 * nothing deduplicates or compresses) is backed up into a fresh repository,
 * then downloaded twice, each time from a freshly started `cairn ui`: through
 * `/api/file` with curl, and through WebDAV with rclone (`rclone cat`). Each
 * row: wall time, throughput, the server's resident memory when idle, its
 * peak during the download (VmHWM from /proc) and the highest of its samples
 * (VmRSS, every 250 ms) in the first and in the second half of the download,
 * which are equal when memory does not grow with the file, and whether the SHA-256 of the
 * downloaded bytes equals the source's. The repository and the file stay in
 * `CAIRN_BENCH_DIR` (default ~/.cache/cairn-bench-ui) for a rerun; `--fresh`
 * rebuilds them.
 */
import { parseArgs } from "node:util";
import { cairnCmd, PASSWORD, run, sh, workDir } from "./_common.ts";

const WORK = workDir("cairn-bench-ui");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    size: { type: "string", default: String(4 * 2 ** 30) },
    port: { type: "string", default: "7700" },
    fresh: { type: "boolean", default: false },
  },
});
const SIZE = Number(values.size);
const PORT = Number(values.port);
const SRC = `${WORK}/src`;
const FILE = `${SRC}/big.bin`;
const ENV = { CAIRN_REPO: `${WORK}/repo`, CAIRN_PASSWORD: PASSWORD };

/** A shell pipeline's output. */
function bash(line: string): string {
  return sh("bash", ["-c", `set -o pipefail; ${line}`]);
}

interface Inputs {
  size: number;
  sha256: string;
  snapshotId: string;
}

function ensureInputs(): Inputs {
  const stamp = `${WORK}/inputs.json`;
  try {
    const saved = JSON.parse(Deno.readTextFileSync(stamp));
    if (!values.fresh && saved.size === SIZE) return saved;
  } catch {
    // Not made yet.
  }
  try {
    Deno.removeSync(WORK, { recursive: true });
  } catch {
    // Nothing there yet.
  }
  Deno.mkdirSync(SRC, { recursive: true });
  const t0 = performance.now();
  // openssl dies of SIGPIPE when head has enough: no pipefail here, the size is checked.
  sh("sh", [
    "-c",
    "openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 0 -in /dev/zero " +
    `2>/dev/null | head -c ${SIZE} > ${FILE}`,
  ]);
  if (Deno.statSync(FILE).size !== SIZE) throw new Error(`${FILE} is not ${SIZE} bytes`);
  const sha256 = sh("sha256sum", [FILE]).split(" ")[0];
  console.error(
    `made ${FILE} (${SIZE} bytes) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  run(cairnCmd(["init", "--kdf-memory", "8", "--kdf-iterations", "1"]), ENV);
  const t1 = performance.now();
  run(cairnCmd(["backup", SRC, "--host", "bench"]), ENV);
  console.error(`backed up in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
  const [snap] = JSON.parse(run(cairnCmd(["snapshots", "--json"]), ENV));
  const saved: Inputs = { size: SIZE, sha256, snapshotId: snap.id };
  Deno.writeTextFileSync(stamp, JSON.stringify(saved));
  return saved;
}

function status(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(
    Deno.readTextFileSync(`/proc/${pid}/status`),
  );
  return m ? Number(m[1]) * 1024 : NaN;
}

/** A fresh `cairn ui` on PORT; its base URL and token from its stderr. */
async function startUi() {
  const [cmd, ...args] = cairnCmd(["ui", "--listen", `127.0.0.1:${PORT}`]);
  const child = new Deno.Command(cmd, {
    args,
    env: ENV,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`cairn ui exited: ${log}`);
    log += value;
    url = /cairn ui: open (http:\/\/\S+\/\?token=[0-9a-f]{64})/.exec(log)?.[1];
  }
  void (async () => {
    while (!(await lines.read()).done);
  })();
  const u = new URL(url);
  return {
    pid: child.pid,
    base: u.origin,
    token: u.searchParams.get("token")!,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

interface Row {
  way: string;
  seconds: number;
  mibPerS: number;
  idleRssMiB: number;
  peakRssMiB: number;
  firstHalfMiB: number;
  secondHalfMiB: number;
  sha256Ok: boolean;
}

/** Downloads with `command(ui)` (its stdout is the file) from a fresh server. */
async function download(
  way: string,
  command: (ui: Awaited<ReturnType<typeof startUi>>) => string,
  sha256: string,
): Promise<Row> {
  const ui = await startUi();
  try {
    // Let the server settle (its repository opened) before the idle figure.
    await fetch(`${ui.base}/api/snapshots`, { headers: { authorization: `Bearer ${ui.token}` } })
      .then((r) => r.arrayBuffer());
    const idle = status(ui.pid, "VmRSS");
    const t0 = performance.now();
    const samples: { at: number; rss: number }[] = [];
    const sampler = setInterval(() => {
      samples.push({ at: performance.now(), rss: status(ui.pid, "VmRSS") });
    }, 250);
    const line = command(ui);
    const done = await new Deno.Command("bash", {
      args: ["-c", `set -o pipefail; ${line} | sha256sum`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    clearInterval(sampler);
    if (!done.success) throw new Error(`${line}: ${new TextDecoder().decode(done.stderr)}`);
    const out = new TextDecoder().decode(done.stdout);
    const middle = (t0 + performance.now()) / 2;
    const highest = (xs: { rss: number }[]) => Math.max(0, ...xs.map((x) => x.rss)) / 2 ** 20;
    const seconds = (performance.now() - t0) / 1000;
    const peak = status(ui.pid, "VmHWM");
    return {
      way,
      seconds: Number(seconds.toFixed(1)),
      mibPerS: Number((SIZE / 2 ** 20 / seconds).toFixed(1)),
      idleRssMiB: Number((idle / 2 ** 20).toFixed(1)),
      peakRssMiB: Number((peak / 2 ** 20).toFixed(1)),
      firstHalfMiB: Number(highest(samples.filter((x) => x.at < middle)).toFixed(1)),
      secondHalfMiB: Number(highest(samples.filter((x) => x.at >= middle)).toFixed(1)),
      sha256Ok: out.split(" ")[0] === sha256,
    };
  } finally {
    await ui.stop();
  }
}

const inputs = ensureInputs();
const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const loadBefore = load();
const rows: Row[] = [];
rows.push(
  await download("/api/file (curl)", (ui) => {
    const q = new URLSearchParams({ snapshot: inputs.snapshotId, path: FILE });
    return `curl -sS -f -u x:${ui.token} '${ui.base}/api/file?${q}'`;
  }, inputs.sha256),
);
rows.push(
  await download("WebDAV (rclone cat)", (ui) => {
    const pass = sh("rclone", ["obscure", ui.token]).trim();
    const rclone = `env -u AWS_CA_BUNDLE rclone --config /dev/null --webdav-url ${ui.base}/dav/ ` +
      `--webdav-user x --webdav-pass ${pass}`;
    // The snapshot's folder name, as a WebDAV client finds it.
    const [time] = bash(`${rclone} lsf :webdav:bench/_/`).trim().split("\n");
    return `${rclone} cat ':webdav:bench/_/${time}${FILE.slice(1)}'`;
  }, inputs.sha256),
);
console.log(
  `file: ${SIZE} bytes (${
    (SIZE / 2 ** 30).toFixed(2)
  } GiB); load average ${loadBefore} → ${load()}`,
);
console.log(
  "way                    seconds   MiB/s  idle RSS MiB  peak RSS MiB  1st half  2nd half  sha256",
);
for (const r of rows) {
  console.log(
    `${r.way.padEnd(22)} ${String(r.seconds).padStart(7)} ${String(r.mibPerS).padStart(7)} ${
      String(r.idleRssMiB).padStart(13)
    } ${String(r.peakRssMiB).padStart(13)} ${String(r.firstHalfMiB).padStart(9)} ${
      String(r.secondHalfMiB).padStart(9)
    }  ${r.sha256Ok ? "ok" : "MISMATCH"}`,
  );
}
console.log(JSON.stringify({ size: SIZE, load: loadBefore, rows }));
if (rows.some((r) => !r.sha256Ok)) Deno.exit(1);
