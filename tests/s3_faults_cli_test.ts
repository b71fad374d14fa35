/**
 * cairn on an `s3:` repository behind a proxy that breaks requests by a
 * seeded schedule (src/testing/fault_proxy.ts): a backup either completes
 * and restores byte for byte, or fails with one line, and never leaves a
 * snapshot that does not restore. Ignored without an S3 server.
 */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { ALL_FAULTS, type Fault, startFaultProxy } from "../src/testing/fault_proxy.ts";
import {
  ensureTestBucket,
  freshS3Location,
  removeS3Prefix,
  s3TestServer,
} from "../src/testing/s3.ts";
import { cairn, type CairnResult, lastJson } from "./_launcher.ts";

const server = s3TestServer();
const ignore = server === undefined;
const FAST_KDF = ["--kdf-memory", "8", "--kdf-iterations", "1"];

async function ok(r: Promise<CairnResult>, what: string): Promise<CairnResult> {
  const done = await r;
  assertEquals(done.code, 0, `${what}: ${done.stderr}`);
  return done;
}

async function assertSameTree(a: string, b: string): Promise<void> {
  const names = async (d: string) => (await Array.fromAsync(Deno.readDir(d))).map((e) => e.name);
  assertEquals((await names(b)).sort(), (await names(a)).sort(), b);
  for await (const entry of Deno.readDir(a)) {
    const [pa, pb] = [`${a}/${entry.name}`, `${b}/${entry.name}`];
    if (entry.isDirectory) await assertSameTree(pa, pb);
    else assertEquals(await Deno.readFile(pb), await Deno.readFile(pa), pb);
  }
}

function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(size, at + 65536)));
  }
  return out;
}

/** A source tree big enough for several packs and many requests. */
async function makeSource(src: string): Promise<void> {
  for (const d of ["a", "b", "b/c"]) await Deno.mkdir(`${src}/${d}`, { recursive: true });
  for (let i = 0; i < 6; i++) await Deno.writeFile(`${src}/a/r${i}.bin`, randomBytes(700_000));
  for (let i = 0; i < 20; i++) {
    await Deno.writeTextFile(`${src}/b/c/t${i}.txt`, `file ${i}\n`.repeat(100 * (i + 1)));
  }
  await Deno.writeTextFile(`${src}/top.txt`, "top\n");
}

/**
 * Runs backups through a proxy with `seed` and `rate`, then checks the
 * repository directly: every snapshot restores to what was backed up, and
 * `check --read-data` passes. Returns the exit codes of the backups.
 */
async function faultyBackups(
  seed: number,
  rate: number,
  faults: readonly Fault[] = ALL_FAULTS,
): Promise<{ codes: number[]; counts: Record<Fault, number> }> {
  await ensureTestBucket(server!);
  const location = freshS3Location(server!);
  const dir = await Deno.makeTempDir({ prefix: "cairn-s3fault-" });
  try {
    const src = `${dir}/src`;
    await makeSource(src);
    const direct = { ...server!.env, CAIRN_REPO: location, CAIRN_PASSWORD: "correct horse" };
    await ok(cairn(["init", ...FAST_KDF], { env: direct }), "init");

    await using proxy = startFaultProxy({
      upstream: new URL(server!.endpoint).host,
      seed,
      rate,
      faults,
      maxDelayMs: 200,
    });
    const viaProxy = {
      ...direct,
      CAIRN_REPO: location.replace(server!.endpoint, proxy.endpoint),
    };
    /** What each completed backup's snapshot should restore to. */
    const expected = new Map<string, string>();
    /** The source as each backup saw it, completed or not. */
    const copies: string[] = [];
    const codes: number[] = [];
    for (let round = 0; round < 2; round++) {
      if (round === 1) {
        await Deno.writeTextFile(`${src}/top.txt`, "top, edited\n");
        await Deno.writeFile(`${src}/a/new.bin`, randomBytes(500_000));
      }
      const copy = `${dir}/expected-${round}`;
      await Deno.mkdir(copy);
      await copyTree(src, copy);
      copies.push(copy);
      const r = await cairn(["backup", src, "--json"], { env: viaProxy });
      codes.push(r.code);
      const why = `seed ${seed} round ${round}: ${r.stderr}`;
      if (r.code === 0) {
        expected.set(String(lastJson(r).snapshot), copy);
      } else {
        assertEquals(r.code, 1, why);
        assertEquals(r.stderr.trim().split("\n").length, 1, `one line: ${why}`);
        assertStringIncludes(r.stderr, "S3", why);
      }
    }

    // Every backup that said so left its snapshot, and every snapshot in the
    // repository restores to the source of one of the backups (one that failed
    // after its snapshot was stored, when only the answer was lost, included).
    const listed = lastJson<{ id: string }[]>(
      await ok(cairn(["snapshots", "--json"], { env: direct }), "snapshots"),
    );
    const ids = listed.map((s) => s.id);
    for (const id of expected.keys()) assert(ids.includes(id), `seed ${seed}: ${id} missing`);
    for (const id of ids) {
      const target = `${dir}/restored-${id.slice(0, 8)}`;
      await ok(cairn(["restore", id, "--target", target], { env: direct }), `restore ${id}`);
      const candidates = expected.has(id) ? [expected.get(id)!] : copies;
      const matches = await Promise.all(
        candidates.map((c) => assertSameTree(c, `${target}${src}`).then(() => true, () => false)),
      );
      assert(matches.includes(true), `seed ${seed}: snapshot ${id} restores to another tree`);
    }
    const check = await ok(cairn(["check", "--read-data"], { env: direct }), "check");
    assertStringIncludes(check.stdout, "no errors found");
    await proxy.close();
    return { codes, counts: { ...proxy.counts } };
  } finally {
    await removeS3Prefix(server!, location).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) {
      await Deno.mkdir(`${to}/${e.name}`);
      await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    } else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

Deno.test({
  name: "s3 faults: backups through a breaking proxy complete and restore, seeds 1-4",
  ignore,
  fn: async () => {
    const injected: Record<string, number> = {};
    for (const seed of [1, 2, 3, 4]) {
      const { codes, counts } = await faultyBackups(seed, 0.25);
      // At one fault in four, six attempts a request make a failed backup a one-in-a-thousand event.
      assertEquals(codes, [0, 0], `seed ${seed}: faults ${JSON.stringify(counts)}`);
      for (const [f, n] of Object.entries(counts)) injected[f] = (injected[f] ?? 0) + n;
    }
    // The schedule really broke requests, of every kind.
    for (const f of ALL_FAULTS) assert(injected[f] > 0, `no ${f}: ${JSON.stringify(injected)}`);
  },
});

Deno.test({
  name:
    "s3 faults: with most requests failing, a backup fails in one line and leaves no bad snapshot",
  ignore,
  fn: async () => {
    const { codes } = await faultyBackups(7, 0.9, ["drop-before", "status-503", "cut-body"]);
    assert(codes.some((c) => c !== 0), `some backup fails at 90% faults: ${codes}`);
  },
});

Deno.test({
  name: "s3 faults: forget --prune completes when DELETE answers are lost after the delete",
  ignore,
  fn: async () => {
    await ensureTestBucket(server!);
    const location = freshS3Location(server!);
    const dir = await Deno.makeTempDir({ prefix: "cairn-s3fault-" });
    try {
      const env = { ...server!.env, CAIRN_REPO: location, CAIRN_PASSWORD: "correct horse" };
      await ok(cairn(["init", ...FAST_KDF], { env }), "init");
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        await Deno.writeFile(`${dir}/f${i}`, randomBytes(20_000));
        ids.push(
          String(lastJson(await ok(cairn(["backup", dir, "--json"], { env }), "b")).snapshot),
        );
      }
      // One request in three reaches the server, and its answer never comes back.
      await using proxy = startFaultProxy({
        upstream: new URL(server!.endpoint).host,
        seed: 1,
        rate: 0.3,
        faults: ["drop-after"],
      });
      const viaProxy = { ...env, CAIRN_REPO: location.replace(server!.endpoint, proxy.endpoint) };
      const forget = await cairn(["forget", "--keep-last", "1", "--prune"], { env: viaProxy });
      assertEquals(forget.code, 0, forget.stderr);
      assert(proxy.counts["drop-after"] > 2, JSON.stringify(proxy.counts));
      const listed = lastJson<{ id: string }[]>(
        await ok(cairn(["snapshots", "--json"], { env }), "snapshots"),
      );
      assertEquals(listed.map((s) => s.id), [ids[3]]);
      const check = await ok(cairn(["check", "--read-data"], { env }), "check");
      assertStringIncludes(check.stdout, "no errors found");
    } finally {
      await removeS3Prefix(server!, location).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
