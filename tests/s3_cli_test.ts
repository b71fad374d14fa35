/**
 * End-to-end tests of cairn on an `s3:` repository, against the S3 server
 * `.ci/run` starts (Ceph RGW). Ignored when no server is configured.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "../src/testing/asserts.ts";
import {
  appendOnlyPolicy,
  ensureTestBucket,
  freshS3Location,
  putBucketPolicy,
  removeLockedS3Bucket,
  removeS3Bucket,
  removeS3Prefix,
  s3AgentUser,
  s3TestServer,
} from "../src/testing/s3.ts";
import { cairn, type CairnResult, lastJson } from "./_launcher.ts";

const server = s3TestServer();
const ignore = server === undefined;
const agent = s3AgentUser();
const FAST_KDF = ["--kdf-memory", "8", "--kdf-iterations", "1"];

/** A fresh prefix in the test bucket, a source tree and the env pointing at both. */
async function s3Setup() {
  await ensureTestBucket(server!);
  const location = freshS3Location(server!);
  const dir = await Deno.makeTempDir({ prefix: "cairn-s3cli-" });
  const src = `${dir}/src`;
  await Deno.mkdir(`${src}/sub`, { recursive: true });
  await Deno.writeTextFile(`${src}/a.txt`, "alpha\n");
  await Deno.writeTextFile(`${src}/sub/b.txt`, "bravo\n".repeat(5000));
  await Deno.writeFile(`${src}/sub/random.bin`, randomBytes(300_000));
  const env = { ...server!.env, CAIRN_REPO: location, CAIRN_PASSWORD: "correct horse" };
  return {
    location,
    dir,
    src,
    env,
    [Symbol.asyncDispose]: async () => {
      await removeS3Prefix(server!, location);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function ok(r: Promise<CairnResult>, what: string): Promise<CairnResult> {
  const done = await r;
  assertEquals(done.code, 0, `${what}: ${done.stderr}`);
  return done;
}

async function assertSameTree(a: string, b: string): Promise<void> {
  for await (const entry of Deno.readDir(a)) {
    const [pa, pb] = [`${a}/${entry.name}`, `${b}/${entry.name}`];
    if (entry.isDirectory) await assertSameTree(pa, pb);
    else assertEquals(await Deno.readFile(pb), await Deno.readFile(pa), pb);
  }
}

Deno.test({
  name: "s3: init, backup, restore byte for byte, forget, prune, check --read-data",
  ignore,
  fn: async () => {
    await using t = await s3Setup();
    const { env, src } = t;
    const init = await ok(cairn(["init", ...FAST_KDF], { env }), "init");
    assertStringIncludes(init.stdout, `at ${t.location}`);
    const again = await cairn(["init", ...FAST_KDF], { env });
    assertEquals(again.code, 1, "a second init is refused");
    assertStringIncludes(again.stderr, "already");

    const first = lastJson(await ok(cairn(["backup", src, "--json"], { env }), "backup"));
    await Deno.writeTextFile(`${src}/a.txt`, "alpha, edited\n");
    const second = lastJson(await ok(cairn(["backup", src, "--json"], { env }), "backup 2"));
    assertMatch(String(second.snapshot), /^[0-9a-f]{64}$/);

    const target = `${t.dir}/restored`;
    await ok(cairn(["restore", String(second.snapshot), "--target", target], { env }), "restore");
    await assertSameTree(src, `${target}${src}`);

    await ok(cairn(["forget", "--keep-last", "1"], { env }), "forget");
    const listed = lastJson<{ id: string }[]>(
      await ok(cairn(["snapshots", "--json"], { env }), "snapshots"),
    );
    assertEquals(listed.map((s) => s.id), [second.snapshot]);
    assert(first.snapshot !== second.snapshot);
    await ok(cairn(["prune", "--grace", "0"], { env }), "prune");
    const check = await ok(cairn(["check", "--read-data"], { env }), "check --read-data");
    assertStringIncludes(check.stdout, "no errors found");
    assertMatch(check.stdout, /checked 1 snapshots/);
  },
});

Deno.test({
  name: "s3: a wrong secret is one line naming bucket and key id, exit 1",
  ignore,
  fn: async () => {
    await using t = await s3Setup();
    const secret = `${server!.env.AWS_SECRET_ACCESS_KEY}-but-wrong`;
    const r = await cairn(["init", ...FAST_KDF], {
      env: { ...t.env, AWS_SECRET_ACCESS_KEY: secret },
    });
    assertEquals(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assertEquals(lines.length, 1, r.stderr);
    assertStringIncludes(lines[0], `bucket "${server!.bucket}"`);
    assertStringIncludes(lines[0], `"${server!.env.AWS_ACCESS_KEY_ID}"`);
    assertStringIncludes(lines[0], "403");
    assert(!(r.stdout + r.stderr).includes(secret), "the secret is never printed");
  },
});

Deno.test({
  name: "s3: a secret never shows in output, status, metrics or errors of a job",
  // The check means little with a secret as short as a default test one.
  ignore: ignore || server!.env.AWS_SECRET_ACCESS_KEY.length < 12,
  fn: async () => {
    await using t = await s3Setup();
    const secret = server!.env.AWS_SECRET_ACCESS_KEY;
    await Deno.writeTextFile(`${t.dir}/key-id`, server!.env.AWS_ACCESS_KEY_ID + "\n");
    await Deno.writeTextFile(`${t.dir}/secret`, secret + "\n");
    await Deno.writeTextFile(`${t.dir}/wrong`, secret + "x\n");
    const job = (secretFile: string) =>
      [
        `state_dir = "${t.dir}/state"`,
        `metrics_file = "${t.dir}/cairn.prom"`,
        "[repository.main]",
        `url = "${t.location}"`,
        `access_key_id_file = "${t.dir}/key-id"`,
        `secret_access_key_file = "${secretFile}"`,
        `password_env = "CAIRN_PASSWORD"`,
        "init = true",
        "[[job]]",
        'name = "docs"',
        'repository = "main"',
        `paths = ["${t.src}"]`,
      ].join("\n");
    // No AWS_* variables: the job file's key files are the only credentials.
    const env = { CAIRN_PASSWORD: "correct horse" };
    await Deno.writeTextFile(`${t.dir}/bad.toml`, job(`${t.dir}/wrong`));
    await Deno.writeTextFile(`${t.dir}/good.toml`, job(`${t.dir}/secret`));
    const bad = await cairn(["run", "--config", `${t.dir}/bad.toml`, "--json"], { env });
    assertEquals(bad.code, 1, bad.stderr);
    assertStringIncludes(bad.stderr + bad.stdout, "403");
    const good = await cairn(["run", "--config", `${t.dir}/good.toml`, "--json"], { env });
    assertEquals(good.code, 0, good.stderr);
    const status = await cairn(["status", "--config", `${t.dir}/good.toml`, "--json"], { env });
    const texts = [bad.stdout, bad.stderr, good.stdout, good.stderr, status.stdout, status.stderr];
    for await (const f of Deno.readDir(`${t.dir}/state`)) {
      if (f.isFile) texts.push(await Deno.readTextFile(`${t.dir}/state/${f.name}`));
    }
    texts.push(await Deno.readTextFile(`${t.dir}/cairn.prom`));
    for (const [i, text] of texts.entries()) {
      assert(!text.includes(secret), `output ${i} shows the secret`);
    }
  },
});

Deno.test({
  name: "s3: two jobs with init = true starting at once end with one repository both use",
  ignore,
  fn: async () => {
    await using t = await s3Setup();
    await Deno.writeTextFile(`${t.dir}/password`, "correct horse\n");
    const config = (name: string) =>
      [
        `state_dir = "${t.dir}/state-${name}"`,
        "[repository.shared]",
        `url = "${t.location}"`,
        `password_file = "${t.dir}/password"`,
        "init = true",
        "[[job]]",
        `name = "${name}"`,
        'repository = "shared"',
        `paths = ["${t.src}"]`,
      ].join("\n");
    await Deno.writeTextFile(`${t.dir}/a.toml`, config("a"));
    await Deno.writeTextFile(`${t.dir}/b.toml`, config("b"));
    const env = { ...server!.env };
    const [a, b] = await Promise.all([
      cairn(["run", "--config", `${t.dir}/a.toml`], { env }),
      cairn(["run", "--config", `${t.dir}/b.toml`], { env }),
    ]);
    assertEquals([a.code, b.code], [0, 0], a.stderr + b.stderr);
    const created = [a, b].filter((r) => r.stderr.includes("created repository"));
    assert(created.length >= 1, a.stderr + b.stderr);
    const snaps = lastJson<{ job?: string }[]>(
      await ok(cairn(["snapshots", "--json"], { env: t.env }), "snapshots"),
    );
    assertEquals(snaps.map((s) => s.job).sort(), ["a", "b"]);
    await ok(cairn(["check"], { env: t.env }), "check");
  },
});

Deno.test({
  name: "s3: two cairn init at once: one creates the repository, the other refuses",
  ignore,
  fn: async () => {
    await using t = await s3Setup();
    const runs = await Promise.all(
      [1, 2, 3].map(() => cairn(["init", ...FAST_KDF], { env: t.env })),
    );
    assertEquals(runs.map((r) => r.code).sort(), [0, 1, 1], runs.map((r) => r.stderr).join(""));
    for (const r of runs.filter((r) => r.code === 1)) assertStringIncludes(r.stderr, "already");
    await ok(cairn(["backup", t.src], { env: t.env }), "backup");
    await ok(cairn(["check"], { env: t.env }), "check");
  },
});

function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65536)));
  }
  return out;
}

Deno.test("s3: missing credentials or a bad location is a one-line usage error, exit 2", async () => {
  const env = {
    CAIRN_PASSWORD: "pw",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
    AWS_CONFIG_FILE: "/nonexistent/config",
  };
  const noKeys = await cairn(["snapshots", "--repo", "s3:http://127.0.0.1:9/bkt/repo"], { env });
  assertEquals(noKeys.code, 2, noKeys.stderr);
  assertStringIncludes(noKeys.stderr, "No S3 credentials");
  assertEquals(noKeys.stderr.trim().split("\n").length, 1, noKeys.stderr);
  const keys = { ...env, AWS_ACCESS_KEY_ID: "AKID", AWS_SECRET_ACCESS_KEY: "secret-value-123" };
  const bad = await cairn(["snapshots", "--repo", "s3:http://backup.example.com/bkt"], {
    env: keys,
  });
  assertEquals(bad.code, 1, bad.stderr);
  assertStringIncludes(bad.stderr, "plain http is only allowed");
  assert(!bad.stderr.includes("secret-value-123"));
});

Deno.test({
  name: "s3: an append-only agent backs up and restores; forget needs the maintenance user",
  ignore: ignore || agent === undefined,
  fn: async () => {
    await using t = await s3Setup();
    const bucket = `cairn-agent-${crypto.randomUUID().slice(0, 8)}`;
    const location = `s3:${server!.endpoint}/${bucket}/repo`;
    const maint = { ...t.env, CAIRN_REPO: location };
    const host = { ...agent!.env, CAIRN_REPO: location, CAIRN_PASSWORD: "correct horse" };
    try {
      await ok(cairn(["init", ...FAST_KDF], { env: maint }), "init (maintenance)");
      await putBucketPolicy(server!, bucket, appendOnlyPolicy(bucket, agent!.uid));

      // Exit 0 although the agent cannot remove its lock file: that is a warning.
      const b1 = await ok(cairn(["backup", t.src, "--json"], { env: host }), "backup 1");
      assertMatch(
        b1.stderr,
        /warning: cannot remove lock file locks\/[0-9a-f]+ .*403 AccessDenied/,
      );
      const first = lastJson(b1);
      await Deno.writeTextFile(`${t.src}/a.txt`, "alpha, edited\n");
      const b2 = await ok(cairn(["backup", t.src, "--json"], { env: host }), "backup 2");
      const second = lastJson(b2);
      const snaps = lastJson<{ id: string }[]>(
        await ok(cairn(["snapshots", "--json"], { env: host }), "snapshots (agent)"),
      );
      assertEquals(snaps.length, 2);
      const target = `${t.dir}/restored`;
      await ok(
        cairn(["restore", String(second.snapshot), "--target", target], { env: host }),
        "restore (agent)",
      );
      await assertSameTree(t.src, `${target}${t.src}`);

      const forget = await cairn(["forget", "--keep-last", "1"], { env: host });
      assertEquals(forget.code, 1, forget.stderr);
      const lines = forget.stderr.trim().split("\n");
      assertEquals(lines.length, 1, forget.stderr);
      assertStringIncludes(lines[0], `bucket "${bucket}"`);
      assertStringIncludes(lines[0], "AccessDenied");
      assertEquals(
        lastJson<unknown[]>(await ok(cairn(["snapshots", "--json"], { env: host }), "s")).length,
        2,
        "a refused forget removed nothing",
      );

      // The agent's lock files are still there; the maintenance host is not blocked.
      await ok(cairn(["forget", "--keep-last", "1"], { env: maint }), "forget (maintenance)");
      await ok(cairn(["prune", "--grace", "0"], { env: maint }), "prune (maintenance)");
      const check = await ok(cairn(["check", "--read-data"], { env: maint }), "check");
      assertMatch(check.stdout, /checked 1 snapshots/);
      assert(first.snapshot !== second.snapshot);
    } finally {
      await removeS3Bucket(server!, bucket);
    }
  },
});

Deno.test({
  name: "s3: init --object-lock makes a locked repository; forget hides, prune leaves, renew runs",
  ignore,
  fn: async () => {
    await using t = await s3Setup();
    // An existing bucket without Object Lock cannot get it: refused in one line.
    const plain = await cairn(["init", "--object-lock", "governance:1", ...FAST_KDF], {
      env: t.env,
    });
    assertEquals(plain.code, 1, plain.stderr);
    assertEquals(plain.stderr.trim().split("\n").length, 1, plain.stderr);
    assertStringIncludes(plain.stderr, `bucket "${server!.bucket}" exists without Object Lock`);
    const bad = await cairn(["init", "--object-lock", "forever", ...FAST_KDF], { env: t.env });
    assertEquals(bad.code, 2, bad.stderr);

    const bucket = `cairn-lock-${crypto.randomUUID().slice(0, 8)}`;
    const env = { ...t.env, CAIRN_REPO: `s3:${server!.endpoint}/${bucket}/repo` };
    try {
      await ok(cairn(["init", "--object-lock", "governance:1", ...FAST_KDF], { env }), "init");
      const first = lastJson(await ok(cairn(["backup", t.src, "--json"], { env }), "backup 1"));
      await Deno.writeFile(`${t.src}/sub/random.bin`, randomBytes(300_000));
      await ok(cairn(["backup", t.src], { env }), "backup 2");
      const renew = await ok(cairn(["retention", "renew"], { env }), "retention renew");
      assertMatch(renew.stdout, /renewed 0 of \d+ file\(s\) until /);
      await ok(cairn(["forget", "--keep-last", "1"], { env }), "forget");
      const snaps = lastJson<{ id: string }[]>(
        await ok(cairn(["snapshots", "--json"], { env }), "s"),
      );
      assertEquals(snaps.length, 1);
      assert(snaps[0].id !== first.snapshot);
      const prune = await ok(cairn(["prune", "--grace", "0"], { env }), "prune");
      assertMatch(prune.stderr, /warning: pack [0-9a-f]{8} is under Object Lock until /);
      assertMatch(prune.stdout, /left \d+ file\(s\) \([1-9]\d* pack\(s\)\) under Object Lock/);
      assertMatch(prune.stdout, /deleted 0 pack\(s\)/);
      const check = await ok(cairn(["check", "--read-data"], { env }), "check");
      assertStringIncludes(check.stdout, "no errors found");
    } finally {
      await removeLockedS3Bucket(server!, bucket).catch(() => {});
    }
  },
});
