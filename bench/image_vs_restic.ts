/**
 * A 4 GiB disk image, cairn against restic 0.14 (Debian's), side by side in
 * one run: an ext4 filesystem on a loop device holding the Linux 6.1.170
 * tree is imaged (`cairn backup --read-special /dev/loopN` against
 * `restic backup --stdin < /dev/loopN`), 5% of it is changed, and it is
 * imaged again.
 *
 *   deno run -A bench/image_vs_restic.ts
 *
 * Reports wall time, peak memory (GNU time's %M) and repository growth of
 * each backup, the bytes that actually changed between the two images
 * (counted over 4 KiB blocks), and PASS/FAIL for the targets of issue 15:
 * cairn's time at most 0.5 of restic's for each backup, and the second
 * image adding at most 1.2 times the changed bytes. Needs root (loop
 * devices, mount), the corpus from ../shared/corpus/linux-kernel.sh and
 * restic; the loop device and mount are removed however the run ends.
 *
 * The change is made inside the mounted filesystem, as a disk in use
 * changes: `drivers/net` (136 MiB, 3,600 files) is deleted and 200 MiB of
 * new incompressible files (deterministic AES-CTR bytes, 64 KiB to 4 MiB
 * each) are written, so ext4 reuses freed blocks, takes new ones, and
 * updates its bitmaps, inode tables, directories and journal. Incompressible
 * bytes keep compression from hiding what the changed chunks cost. Rewriting
 * 5% of the blocks at random offsets would be another test: each 4 KiB write
 * dirties a whole ~1 MiB content-defined chunk, so any chunking backup
 * (restic's too) would store most of the image again, and filesystems do
 * not change that way.
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CORPUS = Deno.env.get("CAIRN_CORPUS") ?? `${Deno.env.get("HOME")}/.cache/cairn-corpus`;
const TREE = `${CORPUS}/linux-6.1.170`;
const WORK = Deno.env.get("CAIRN_BENCH_DIR") ?? `${Deno.env.get("HOME")}/.cache/cairn-bench-image`;
const PASSWORD = "bench-password";
/** The V8 flags the release binary is compiled with (see deno.json "build"). */
const V8_FLAGS = "--v8-flags=--max-semi-space-size=2,--expose-gc";
const IMAGE_SIZE = 4 * 1024 ** 3;
const NEW_BYTES = 200 * 1024 ** 2;
const BLOCK = 4096;

interface Measure {
  wallS: number;
  peakMiB: number;
  stdout: string;
}

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function sh(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${dec(out.stderr)}`);
  return dec(out.stdout);
}

function have(cmd: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync()
    .success;
}

/** Runs a command line under GNU time: wall seconds and peak RSS. */
async function timed(script: string, env: Record<string, string>): Promise<Measure> {
  await sh("sync", []);
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %M", "-o", `${WORK}/.time`, "sh", "-c", script],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) throw new Error(`${script}: ${dec(out.stderr)}`);
  const [wall, kb] = Deno.readTextFileSync(`${WORK}/.time`).trim().split(/\s+/).slice(-2);
  return { wallS: Number(wall), peakMiB: Number(kb) / 1024, stdout: dec(out.stdout) };
}

function cairnLine(args: string[]): string {
  const bin = Deno.env.get("CAIRN_BIN");
  const argv = bin
    ? [bin, ...args]
    : [Deno.execPath(), "run", "-A", "--quiet", V8_FLAGS, `${ROOT}main.ts`, ...args];
  return argv.map((a) => `'${a}'`).join(" ");
}

async function duBytes(dir: string): Promise<number> {
  return Number((await sh("du", ["-sb", dir])).split(/\s+/)[0]);
}

function removeIfThere(path: string) {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

async function ensureInputs() {
  if (Deno.uid() !== 0) throw new Error("the image bench needs root for losetup and mount");
  try {
    Deno.statSync(TREE);
  } catch {
    console.error("fetching the corpus with ../shared/corpus/linux-kernel.sh ...");
    await sh("bash", [`${ROOT}../shared/corpus/linux-kernel.sh`, CORPUS]);
  }
  const need = [["restic", "restic"], ["/usr/bin/time", "time"], ["mkfs.ext4", "e2fsprogs"], [
    "openssl",
    "openssl",
  ]].filter(([cmd]) => !have(cmd)).map(([, pkg]) => pkg);
  if (need.length > 0) {
    console.error(`installing ${need.join(" ")} with apt-get ...`);
    await sh("sh", ["-c", `apt-get update -qq && apt-get install -y -qq ${need.join(" ")}`]);
  }
}

/** Blocks of `BLOCK` bytes that differ between two files of the same size. */
function changedBlocks(a: string, b: string): number {
  using fa = Deno.openSync(a);
  using fb = Deno.openSync(b);
  const step = 4 * 1024 * 1024;
  const ba = new Uint8Array(step);
  const bb = new Uint8Array(step);
  const wa = new BigUint64Array(ba.buffer);
  const wb = new BigUint64Array(bb.buffer);
  const perBlock = BLOCK / 8;
  let changed = 0;
  for (;;) {
    const n = readFull(fa, ba);
    if (readFull(fb, bb) !== n) throw new Error(`${a} and ${b} differ in size`);
    if (n === 0) return changed;
    for (let blk = 0; blk * BLOCK < n; blk++) {
      const end = Math.min((blk + 1) * perBlock, Math.ceil(n / 8));
      for (let i = blk * perBlock; i < end; i++) {
        if (wa[i] !== wb[i]) {
          changed++;
          break;
        }
      }
    }
  }
}

function readFull(f: Deno.FsFile, buf: Uint8Array): number {
  let n = 0;
  while (n < buf.length) {
    const r = f.readSync(buf.subarray(n));
    if (r === null) break;
    n += r;
  }
  buf.fill(0, n);
  return n;
}

/** The deterministic file sizes of the change: 64 KiB to 4 MiB, `NEW_BYTES` in all. */
function newFileSizes(): number[] {
  let x = 0x2545f491;
  const sizes: number[] = [];
  let left = NEW_BYTES;
  while (left > 0) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = Math.min(left, 65536 * (1 + ((x >>> 0) % 64)));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/** What the run set up, undone in reverse by {@link cleanUp}. */
const undo: (() => Promise<unknown>)[] = [];

async function cleanUp() {
  while (undo.length > 0) {
    try {
      await undo.pop()!();
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message.split("\n")[0]}`);
    }
  }
}

async function run() {
  const img = `${WORK}/disk.img`;
  const before = `${WORK}/disk-before.img`;
  const mnt = `${WORK}/mnt`;
  const cRepo = `${WORK}/cairn-repo`;
  const rRepo = `${WORK}/restic-repo`;
  for (const p of [img, before, cRepo, rRepo]) removeIfThere(p);
  undo.push(() => Promise.resolve([img, before, cRepo, rRepo].forEach(removeIfThere)));
  Deno.mkdirSync(mnt, { recursive: true });
  await sh("truncate", ["-s", String(IMAGE_SIZE), img]);
  await sh("mkfs.ext4", ["-q", "-F", img]);
  const dev = (await sh("losetup", ["-f", "--show", img])).trim();
  undo.push(() => sh("losetup", ["-d", dev]));
  const mount = async () => {
    await sh("mount", [dev, mnt]);
    // Lazily, so an interrupted run's cleanup does not fail on a busy mount.
    undo.push(() => sh("umount", ["-l", mnt]));
  };
  const umount = async () => {
    undo.pop();
    await sh("umount", [mnt]);
  };
  await mount();
  console.error(`copying ${TREE} into an ext4 filesystem on ${dev} ...`);
  await sh("cp", ["-a", TREE, `${mnt}/linux`]);
  const used = Number((await sh("df", ["-B1", "--output=used", mnt])).split("\n")[1].trim());
  await umount();
  await sh("sync", []);
  // The first image, for counting changed blocks afterwards (holes stay holes).
  await sh("cp", ["--sparse=always", img, before]);

  const cEnv = { CAIRN_PASSWORD: PASSWORD, HOME: Deno.env.get("HOME") ?? "/root" };
  const rEnv = { RESTIC_PASSWORD: PASSWORD, HOME: Deno.env.get("HOME") ?? "/root" };
  await sh("sh", ["-c", cairnLine(["init", "-r", cRepo])], cEnv);
  await sh("restic", ["init", "-q", "-r", rRepo], rEnv);
  const cSize0 = await duBytes(cRepo);
  const rSize0 = await duBytes(rRepo);
  // Each backup starts with the device's pages cached, as the other's did.
  const warm = () => sh("sh", ["-c", `cat ${dev} > /dev/null`]);
  const cairnBackup = async () => {
    await warm();
    return timed(cairnLine(["backup", "-r", cRepo, "--read-special", dev, "--json"]), cEnv);
  };
  const resticBackup = async () => {
    await warm();
    return timed(`restic -r ${rRepo} backup -q --stdin --stdin-filename disk.img < ${dev}`, rEnv);
  };
  const load0 = Deno.readTextFileSync("/proc/loadavg").trim();

  console.error("first image ...");
  const c1 = await cairnBackup();
  const r1 = await resticBackup();
  const cSize1 = await duBytes(cRepo);
  const rSize1 = await duBytes(rRepo);

  await mount();
  console.error("changing the filesystem ...");
  await sh("rm", ["-rf", `${mnt}/linux/drivers/net`]);
  Deno.mkdirSync(`${mnt}/new`);
  const sizes = newFileSizes();
  for (let i = 0; i < sizes.length; i++) {
    const key = (i + 1).toString(16).padStart(32, "0");
    await sh("sh", [
      "-c",
      `openssl enc -aes-128-ctr -nosalt -K ${key} -iv 0 -in /dev/zero 2>/dev/null | ` +
      `head -c ${sizes[i]} > ${mnt}/new/file-${i}`,
    ]);
  }
  await umount();
  await sh("sync", []);
  const changed = changedBlocks(before, img) * BLOCK;
  removeIfThere(before);

  console.error("second image ...");
  const c2 = await cairnBackup();
  const r2 = await resticBackup();
  const cSize2 = await duBytes(cRepo);
  const rSize2 = await duBytes(rRepo);
  const load1 = Deno.readTextFileSync("/proc/loadavg").trim();

  // The second image comes back byte for byte.
  const dump = `${cairnLine(["dump", "-r", cRepo, "latest", dev])} | cmp - ${dev}`;
  const same = (await new Deno.Command("sh", { args: ["-c", dump], env: cEnv }).output()).success;

  const M = 1024 * 1024;
  const mb = (n: number) => `${(n / M).toFixed(1)} MiB`;
  const rows: [string, Measure, Measure, number, number][] = [
    ["first image", c1, r1, cSize1 - cSize0, rSize1 - rSize0],
    ["second image (5% changed)", c2, r2, cSize2 - cSize1, rSize2 - rSize1],
  ];
  console.log(
    `\n4 GiB ext4 image on ${dev}, ${mb(used)} used (Linux 6.1.170); ${sizes.length} new files`,
  );
  console.log(`load average before the backups: ${load0}; after: ${load1}`);
  console.log(
    "\n| backup | cairn/restic time | cairn | restic | cairn peak | restic peak | " +
      "cairn added | restic added |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  const verdicts: string[] = [];
  for (const [name, c, r, cAdd, rAdd] of rows) {
    const ratio = c.wallS / r.wallS;
    console.log(
      `| ${name} | ${ratio.toFixed(2)} | ${c.wallS.toFixed(1)} s | ${r.wallS.toFixed(1)} s | ` +
        `${c.peakMiB.toFixed(0)} MiB | ${r.peakMiB.toFixed(0)} MiB | ${mb(cAdd)} | ${mb(rAdd)} |`,
    );
    verdicts.push(
      `${ratio <= 0.5 ? "PASS" : "FAIL"}: ${name}: cairn's time is ${
        ratio.toFixed(2)
      } of restic's (target <= 0.5)`,
    );
  }
  const growth = (cSize2 - cSize1) / changed;
  console.log(
    `\nchanged between the images: ${mb(changed)} (${changed / BLOCK} blocks of 4 KiB, ` +
      `${(100 * changed / IMAGE_SIZE).toFixed(1)}% of the image)`,
  );
  verdicts.push(
    `${growth <= 1.2 ? "PASS" : "FAIL"}: the second image added ${growth.toFixed(2)} x the ` +
      `changed bytes (target <= 1.2; restic ${((rSize2 - rSize1) / changed).toFixed(2)} x)`,
  );
  verdicts.push(`${same ? "PASS" : "FAIL"}: cairn dump of the second image equals the device`);
  for (const v of verdicts) console.log(v);
  console.log(
    "cairn summaries:\n" + [c1, c2].map((m) => "  " + m.stdout.trim().split("\n").at(-1))
      .join("\n"),
  );
}

if (import.meta.main) {
  Deno.mkdirSync(WORK, { recursive: true });
  await ensureInputs();
  // An interrupted run still unmounts and detaches its loop device.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      cleanUp().finally(() => Deno.exit(130));
    });
  }
  try {
    await run();
  } finally {
    await cleanUp();
  }
}
