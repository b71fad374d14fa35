/**
 * End-to-end tests of `cairn copy` and `init --copy-chunker-params`: a rerun
 * copies nothing, a copy killed with SIGKILL resumes, repositories with
 * different chunker secrets re-chunk, and local → S3 (against the server
 * `.ci/run` starts; ignored without one).
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import {
  ensureTestBucket,
  freshS3Location,
  removeS3Prefix,
  s3TestServer,
} from "../src/testing/s3.ts";
import { cairn, cairnCommand, type CairnResult, lastJson } from "./_launcher.ts";

const FAST_KDF = ["--kdf-memory", "8", "--kdf-iterations", "1"];
const MiB = 1024 * 1024;
const server = s3TestServer();

interface Summary {
  snapshots_copied: number;
  snapshots_skipped: number;
  blobs_copied: number;
  bytes_copied: number;
  rechunked: boolean;
  packs_reused: number;
}

async function ok(r: Promise<CairnResult>, what: string): Promise<CairnResult> {
  const done = await r;
  assertEquals(done.code, 0, `${what}: ${done.stderr}`);
  return done;
}

/** Random bytes, in 64 KiB draws (getRandomValues' limit). */
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

/** A source tree, a source repository with two snapshots of it, and the env for both. */
async function setup(size = 3 * MiB) {
  const dir = await Deno.makeTempDir({ prefix: "cairn-copy-" });
  const data = `${dir}/data`;
  await Deno.mkdir(`${data}/sub`, { recursive: true });
  await Deno.writeFile(`${data}/big.bin`, randomBytes(size));
  await Deno.writeTextFile(`${data}/sub/a.txt`, "alpha\n".repeat(1000));
  await Deno.symlink("a.txt", `${data}/sub/link`);
  const env = {
    CAIRN_PASSWORD: "destination pw",
    CAIRN_FROM_REPO: `${dir}/src`,
    CAIRN_FROM_PASSWORD: "source pw",
  };
  const srcEnv = { CAIRN_REPO: `${dir}/src`, CAIRN_PASSWORD: "source pw" };
  await ok(cairn(["init", ...FAST_KDF, "--pack-size", "1"], { env: srcEnv }), "init src");
  await ok(cairn(["backup", "--tag", "one", data], { env: srcEnv }), "backup 1");
  await Deno.writeTextFile(`${data}/sub/b.txt`, "bravo\n");
  await ok(cairn(["backup", "--tag", "two", data], { env: srcEnv }), "backup 2");
  return { dir, data, env, srcEnv };
}

/** Restores the destination's latest snapshot and compares it with `data`. */
async function assertRestoresTo(env: Record<string, string>, dir: string, data: string) {
  const out = `${dir}/restored-${crypto.randomUUID()}`;
  await ok(cairn(["restore", "latest", "--target", out], { env }), "restore");
  const diff = await new Deno.Command("diff", { args: ["-r", data, `${out}${data}`] }).output();
  assertEquals(diff.code, 0, new TextDecoder().decode(diff.stdout));
}

async function copyJson(env: Record<string, string>, args: string[] = []): Promise<Summary> {
  return lastJson<Summary>(await ok(cairn(["copy", "--json", ...args], { env }), "copy"));
}

Deno.test("copy into a repository with its own chunker secret re-chunks, and a rerun copies nothing", async () => {
  const { dir, data, env } = await setup();
  const dst = { ...env, CAIRN_REPO: `${dir}/dst` };
  await ok(cairn(["init", ...FAST_KDF], { env: dst }), "init dst");
  const first = await ok(cairn(["copy"], { env: dst }), "copy");
  assertStringIncludes(first.stderr, "re-chunking");
  assertStringIncludes(first.stdout, "copied 2 snapshot(s), skipped 0");
  const again = await copyJson(dst);
  assertEquals([again.snapshots_copied, again.snapshots_skipped, again.blobs_copied], [0, 2, 0]);
  assertEquals(again.rechunked, true);
  const check = await ok(cairn(["check", "--read-data"], { env: dst }), "check");
  assertStringIncludes(check.stdout, "no errors found");
  await assertRestoresTo(dst, dir, data);
  const snaps = JSON.parse((await ok(cairn(["snapshots", "--json"], { env: dst }), "ls")).stdout);
  assertEquals(snaps.length, 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("init --copy-chunker-params makes copy keep blob ids, and dedup what the source shares", async () => {
  const { dir, data, env, srcEnv } = await setup();
  const dst = { ...env, CAIRN_REPO: `${dir}/dst` };
  await ok(cairn(["init", ...FAST_KDF, "--copy-chunker-params"], { env: dst }), "init dst");
  // Only the first snapshot, chosen by tag: the second's new blobs stay behind.
  const one = await copyJson(dst, ["--tag", "one", "latest"]);
  assertEquals([one.snapshots_copied, one.rechunked], [1, false]);
  const rest = await copyJson(dst);
  assertEquals([rest.snapshots_copied, rest.snapshots_skipped], [1, 1]);
  // The second snapshot adds one small file and its trees: nothing of big.bin again.
  assert(rest.bytes_copied < 64 * 1024, `copied ${rest.bytes_copied} bytes again`);
  await ok(cairn(["check", "--read-data"], { env: dst }), "check");
  await assertRestoresTo(dst, dir, data);
  // A backup into the destination of the same files stores no data blob.
  const backup = await ok(cairn(["backup", "--json", data], { env: dst }), "backup dst");
  assertEquals(lastJson<{ data_blobs: number }>(backup).data_blobs, 0);
  // The source is untouched and its password is not the destination's.
  await ok(cairn(["check"], { env: srcEnv }), "check src");
  const wrong = await cairn(["copy"], { env: { ...dst, CAIRN_FROM_PASSWORD: "nope" } });
  assertEquals(wrong.code, 1, wrong.stderr);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("copy without a source, or into its own source, is a usage error", async () => {
  const { dir, env, srcEnv } = await setup(100_000);
  const none = await cairn(["copy"], {
    env: { ...env, CAIRN_REPO: srcEnv.CAIRN_REPO, CAIRN_FROM_REPO: "" },
  });
  assertEquals(none.code, 2, none.stderr);
  assertStringIncludes(none.stderr, "--from-repo");
  const self = await cairn(["copy"], {
    env: { ...srcEnv, CAIRN_FROM_REPO: srcEnv.CAIRN_REPO, CAIRN_FROM_PASSWORD: "source pw" },
  });
  assertEquals(self.code, 2, self.stderr);
  assertStringIncludes(self.stderr, "same repository");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a copy killed with SIGKILL resumes: the rerun reuses its packs and converges", async () => {
  const { dir, data, env } = await setup(6 * MiB);
  const dst = { ...env, CAIRN_REPO: `${dir}/dst` };
  await ok(
    cairn(["init", ...FAST_KDF, "--pack-size", "1", "--copy-chunker-params"], { env: dst }),
    "init dst",
  );
  const child = cairnCommand(["copy"], {
    env: { ...dst, CAIRN_TEST_STALL_AFTER_DATA_SAVES: "2" },
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("cairn-test: saves stalled")) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  child.kill("SIGKILL");
  const status = await child.status;
  await reader.cancel();
  await child.stdout.cancel();
  assert(seen.includes("cairn-test: saves stalled"), `the copy never stalled: ${seen}`);
  assertEquals(status.signal, "SIGKILL");
  const snaps = JSON.parse((await ok(cairn(["snapshots", "--json"], { env: dst }), "ls")).stdout);
  assertEquals(snaps.length, 0, "no snapshot before its blobs are all stored");

  const rerun = await copyJson(dst);
  assertEquals(rerun.snapshots_copied, 2);
  assert(rerun.packs_reused >= 2, `reused ${rerun.packs_reused} packs`);
  assert(rerun.bytes_copied < 6 * MiB, `stored ${rerun.bytes_copied} bytes: nothing was reused`);
  await ok(cairn(["check", "--read-data"], { env: dst }), "check");
  await assertRestoresTo(dst, dir, data);
  assertEquals((await copyJson(dst)).snapshots_copied, 0);
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "copy from a local repository to S3, and back again",
  ignore: server === undefined,
  async fn() {
    const { dir, data, env } = await setup();
    await ensureTestBucket(server!);
    const location = freshS3Location(server!);
    try {
      const s3 = { ...server!.env, ...env, CAIRN_REPO: location };
      await ok(cairn(["init", ...FAST_KDF, "--copy-chunker-params"], { env: s3 }), "init s3");
      assertEquals((await copyJson(s3)).snapshots_copied, 2);
      assertEquals((await copyJson(s3)).snapshots_copied, 0);
      await ok(cairn(["check", "--read-data"], { env: s3 }), "check s3");
      await assertRestoresTo(s3, dir, data);
      // Back into a fresh local repository of its own secrets: re-chunked from S3.
      const back = {
        ...server!.env,
        CAIRN_REPO: `${dir}/back`,
        CAIRN_PASSWORD: "back pw",
        CAIRN_FROM_REPO: location,
        CAIRN_FROM_PASSWORD: "destination pw",
      };
      await ok(cairn(["init", ...FAST_KDF], { env: back }), "init back");
      const b = await copyJson(back);
      assertEquals([b.snapshots_copied, b.rechunked], [2, true]);
      await ok(cairn(["check", "--read-data"], { env: back }), "check back");
      await assertRestoresTo(back, dir, data);
    } finally {
      await removeS3Prefix(server!, location);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
