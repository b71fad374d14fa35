import { LocalBackend } from "../backend/mod.ts";
import { Repository } from "../repo/mod.ts";
import { assertEquals } from "../testing/asserts.ts";
import { backupWithMirror } from "./mod.ts";

Deno.test("the other names of a hard-linked file follow its first name when that is rewritten", async () => {
  const base = await Deno.makeTempDir({ prefix: "cairn-mirror-links-" });
  const repo = await Repository.init(await LocalBackend.create(`${base}/repo`), "pw", {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  const src = `${base}/src`;
  await Deno.mkdir(src);
  await Deno.writeFile(`${src}/b`, new Uint8Array(100_000));
  await Deno.linkSync(`${src}/b`, `${src}/a`); // "a" sorts first: the first name
  const opts = { paths: [src], host: "h", workers: 1 };
  const mirror = { path: `${base}/m`, purge: true };
  const ino = (n: string) => Deno.lstatSync(`${base}/m/${n}`).ino;
  const first = await backupWithMirror(repo, opts, mirror);
  assertEquals(ino("a"), ino("b"));
  // A mode change: the file is read again and "a" is written anew in the mirror,
  // while "b" still has the size and mtime of the old copy.
  Deno.chmodSync(`${src}/a`, 0o600);
  const second = await backupWithMirror(
    repo,
    { ...opts, parent: { ...first.snapshot, id: first.id } },
    mirror,
  );
  assertEquals(second.mirror.errors, []);
  assertEquals(ino("a"), ino("b"), "both names are one file again");
  assertEquals(Deno.lstatSync(`${base}/m/b`).mode! & 0o777, 0o600);
  assertEquals(Deno.lstatSync(`${base}/m/a`).nlink, 2);
  // Nothing changed since: both names are left as they are.
  const third = await backupWithMirror(
    repo,
    { ...opts, parent: { ...second.snapshot, id: second.id } },
    mirror,
  );
  assertEquals([third.mirror.stats.written, third.mirror.stats.linked], [0, 0]);
  assertEquals(ino("a"), ino("b"));
  await Deno.remove(base, { recursive: true });
});
