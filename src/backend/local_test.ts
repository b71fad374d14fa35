import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { backendConformance, bytes, hexName } from "./conformance_test_kit.ts";
import { LocalBackend } from "./local.ts";

backendConformance("LocalBackend", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-local-" });
  return {
    backend: await LocalBackend.create(join(dir, "repo")),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

/** Runs `fn` with a fresh repository in a temp dir. */
async function withRepo(fn: (backend: LocalBackend, dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "cairn-local-" });
  try {
    await fn(await LocalBackend.create(join(dir, "repo")), join(dir, "repo"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("LocalBackend.create() lays out the repository folders", async () => {
  await withRepo(async (_backend, dir) => {
    for (const sub of ["keys", "snapshots", "index", "locks", "data/00", "data/ff"]) {
      ok((await Deno.stat(join(dir, sub))).isDirectory, sub);
    }
    equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    equal([...Deno.readDirSync(join(dir, "data"))].length, 256);
  });
});

Deno.test("LocalBackend.create() refuses a directory that already holds a repository", async () => {
  await withRepo(async (backend, dir) => {
    equal(await LocalBackend.isRepository(dir), false);
    await backend.save("config", "config", bytes(10, 1));
    equal(await LocalBackend.isRepository(dir), true);
    await rejects(LocalBackend.create(dir), Deno.errors.AlreadyExists);
  });
});

Deno.test("LocalBackend stores data files under data/xx/ as owner-read-only", async () => {
  await withRepo(async (backend, dir) => {
    const name = hexName(1);
    await backend.save("data", name, bytes(10, 1));
    await backend.save("index", hexName(2), bytes(10, 2));
    const info = await Deno.stat(join(dir, "data", name.slice(0, 2), name));
    equal(info.mode! & 0o777, 0o400);
    ok((await Deno.stat(join(dir, "index", hexName(2)))).isFile);
  });
});

Deno.test("LocalBackend leaves no temp files behind after saves", async () => {
  await withRepo(async (backend, dir) => {
    await Promise.all([1, 2, 3].map((i) => backend.save("data", hexName(i), bytes(100, i))));
    await backend.save("data", hexName(1), bytes(100, 1));
    await backend.save("config", "config", bytes(10, 4));
    const leftovers: string[] = [];
    for (
      const folder of [
        dir,
        ...["00", hexName(1).slice(0, 2)].map((p) => join(dir, "data", p)),
      ]
    ) {
      for (const entry of Deno.readDirSync(folder)) {
        if (entry.name.startsWith(".tmp-")) leftovers.push(join(folder, entry.name));
      }
    }
    deepStrictEqual(leftovers, []);
  });
});

Deno.test("LocalBackend list() ignores leftover temp files and stray names", async () => {
  await withRepo(async (backend, dir) => {
    const name = hexName(1);
    await backend.save("data", name, bytes(10, 1));
    const folder = join(dir, "data", name.slice(0, 2));
    await Deno.writeFile(join(folder, ".tmp-0123456789abcdef"), bytes(5, 2));
    await Deno.writeFile(join(folder, "notes.txt"), bytes(5, 3));
    // A valid name in the wrong data/xx folder is one load() could never find.
    await Deno.writeFile(join(dir, "data", "00", "ff" + name.slice(2)), bytes(5, 4));
    await Deno.writeFile(join(dir, "keys", ".tmp-0123456789abcdef"), bytes(5, 5));
    const listed = await Array.fromAsync(backend.list("data"));
    deepStrictEqual(listed.map((f) => f.name), [name]);
    deepStrictEqual(await Array.fromAsync(backend.list("keys")), []);
  });
});

Deno.test("LocalBackend save() recreates a missing data/xx folder", async () => {
  await withRepo(async (backend, dir) => {
    const name = hexName(1);
    await Deno.remove(join(dir, "data", name.slice(0, 2)));
    await backend.save("data", name, bytes(10, 1));
    equal((await backend.stat("data", name)).size, 10);
  });
});

Deno.test("LocalBackend fails, rather than recreating, a repository that vanished", async () => {
  await withRepo(async (backend, dir) => {
    await Deno.remove(dir, { recursive: true });
    await rejects(backend.save("data", hexName(1), bytes(10, 1)), (err: Error) => {
      ok(err instanceof Deno.errors.NotFound, String(err));
      ok(err.message.includes(dir) && !err.message.includes("\n"), err.message);
      return true;
    });
    await rejects(Array.fromAsync(backend.list("data")), Deno.errors.NotFound);
    await rejects(Array.fromAsync(backend.list("snapshots")), Deno.errors.NotFound);
    ok(!(await exists(dir)));
  });
});

Deno.test("LocalBackend names the path in other I/O errors", async () => {
  await withRepo(async (backend, dir) => {
    // A directory where a file should be gives an OS error that is not "not found".
    await Deno.mkdir(join(dir, "index", hexName(1)));
    await rejects(backend.load("index", hexName(1)), (err: Error) => {
      ok(err.message.startsWith(`Cannot load ${join(dir, "index", hexName(1))}: `), err.message);
      ok(err.cause instanceof Error);
      return true;
    });
  });
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
