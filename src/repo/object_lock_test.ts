import { backup } from "../archiver/mod.ts";
import { S3Backend } from "../backend/s3.ts";
import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";
import { removeLockedS3Bucket, s3TestServer } from "../testing/s3.ts";
import { renewRetention, validateObjectLock } from "./object_lock.ts";
import { pruneRepository } from "./prune.ts";
import { Repository } from "./repository.ts";
import { loadIndexState } from "./_prune_index.ts";
import { KDF, randomBytes, writeTree } from "./_prune_testing.ts";
import { MemoryBackend } from "../backend/mod.ts";

const server = s3TestServer();
const DAY = 86_400_000;

Deno.test("validateObjectLock() names what is wrong", () => {
  assertEquals(validateObjectLock({ mode: "compliance", days: 7 }), {
    mode: "compliance",
    days: 7,
  });
  for (
    const [bad, what] of [
      [{ mode: "legal", days: 7 }, "mode"],
      [{ mode: "governance", days: 0 }, "days"],
      [{ mode: "governance", days: 1.5 }, "days"],
      [undefined, "table"],
    ] as const
  ) {
    let message = "";
    try {
      validateObjectLock(bad);
    } catch (err) {
      message = (err as Error).message;
    }
    assert(message.includes(what), `${JSON.stringify(bad)}: ${message}`);
  }
});

Deno.test("Repository.init() refuses Object Lock on storage without it", async () => {
  await assertRejects(
    () =>
      Repository.init(new MemoryBackend(), "pw", {
        kdf: KDF,
        objectLock: { mode: "governance", days: 1 },
      }),
    TypeError,
    "Object Lock needs an s3: repository",
  );
});

Deno.test({
  name: "object lock on RGW: locked packs stay, prune leaves them and says so, renew extends",
  ignore: server === undefined,
  fn: async () => {
    const bucket = `cairn-lock-${crypto.randomUUID().slice(0, 8)}`;
    const location = `s3:${server!.endpoint}/${bucket}/repo`;
    const backend = await S3Backend.create(location, { env: server!.env, objectLock: true });
    const dir = await Deno.makeTempDir({ prefix: "cairn-lock-" });
    try {
      const t0 = Date.now();
      const repo = await Repository.init(backend, "pw", {
        kdf: KDF,
        packSize: 64 * 1024,
        objectLock: { mode: "governance", days: 1 },
      });
      const A = writeTree(dir, "A", { a: randomBytes(100_000) });
      const B = writeTree(dir, "B", { b: randomBytes(100_000) });
      const sa = await backup(repo, { paths: [A], host: "h", workers: 1 });
      await backup(repo, { paths: [B], host: "h", workers: 1 });
      const livePacks = async () => new Set((await loadIndexState(repo)).packs.keys());
      const allPacks = async () =>
        new Set((await Array.fromAsync(backend.list("data"))).map((f) => f.name));
      const before = await allPacks();

      // Every pack, index file and snapshot is written under retention.
      for (const type of ["data", "index", "snapshots"] as const) {
        for await (const f of backend.list(type)) {
          const r = await backend.retention(type, f.name);
          assertEquals(r?.mode, "governance", `${type}/${f.name}`);
          assert(Math.abs(r!.untilMs - (t0 + DAY)) < 10 * 60_000, `${type}: ${r!.untilMs}`);
        }
      }
      assertEquals(await backend.retention("config", "config"), undefined);

      // Forgetting A hides its snapshot (a delete marker); prune then finds A's
      // packs unused but locked: it leaves them in storage and says so.
      await repo.backend.remove("snapshots", sa.id);
      const said: string[] = [];
      const stats = await pruneRepository(await Repository.open(backend, "pw"), {
        graceMs: 0,
        onProgress: (m) => said.push(m),
      });
      assert(stats.packsLocked >= 1, JSON.stringify(stats));
      assertEquals(stats.packsDeleted, 0);
      assert(
        said.some((m) => /pack [0-9a-f]{8} is under Object Lock until /.test(m)),
        said.join("\n"),
      );
      assertEquals(await allPacks(), before, "locked packs are still there");
      const live = await livePacks();
      const unused = [...before].filter((p) => !live.has(p));
      assert(unused.length >= 1);
      // The bytes are intact; a DELETE of the version itself is refused, so
      // remove() can only hide the pack behind a delete marker.
      const version = await versionOf(backend, unused[0]);
      assertEquals(
        await deleteVersion(bucket, `repo/data/${unused[0].slice(0, 2)}/${unused[0]}`, version),
        403,
      );
      assert((await backend.load("data", unused[0])).length > 0, "the locked pack still loads");

      // Renewal, a day and a half on, extends what the index still lists, not the rest.
      const later = t0 + 1.5 * DAY;
      const renewed = await renewRetention(await Repository.open(backend, "pw"), {
        now: () => later,
      });
      assert(renewed.renewed >= live.size, JSON.stringify(renewed));
      for (const p of live) {
        const r = await backend.retention("data", p);
        assert(r!.untilMs >= later + DAY - 60_000, `live pack ${p} renewed`);
      }
      const old = await backend.retention("data", unused[1] ?? unused[0]);
      assert(
        old === undefined || old.untilMs < t0 + DAY + 10 * 60_000,
        "an unused pack is not renewed",
      );
    } finally {
      await backend.close();
      await Deno.remove(dir, { recursive: true });
      await removeLockedS3Bucket(server!, bucket).catch(() => {});
    }
  },
});

async function s3Client() {
  const { AwsClient } = await import("aws4fetch");
  return new AwsClient({
    accessKeyId: server!.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: server!.env.AWS_SECRET_ACCESS_KEY,
    region: server!.env.AWS_DEFAULT_REGION,
    service: "s3",
    retries: 0,
  });
}

/** The current version id of a pack, from a raw HEAD. */
async function versionOf(backend: S3Backend, pack: string): Promise<string> {
  const aws = await s3Client();
  const url = `${server!.endpoint}/${backend.bucket}/repo/data/${pack.slice(0, 2)}/${pack}`;
  const r = await aws.fetch(url, { method: "HEAD" });
  const v = r.headers.get("x-amz-version-id");
  assert(r.ok && v, `HEAD ${url}: ${r.status}, version ${v}`);
  return v!;
}

/** A raw DELETE of one version (no governance bypass); returns the status. */
async function deleteVersion(bucket: string, key: string, version: string): Promise<number> {
  const aws = await s3Client();
  const url = `${server!.endpoint}/${bucket}/${key}?versionId=${encodeURIComponent(version)}`;
  const r = await aws.fetch(url, { method: "DELETE" });
  await r.body?.cancel();
  return r.status;
}
