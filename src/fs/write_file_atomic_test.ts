import { join } from "node:path";
import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";
import { TEMP_PREFIX, writeFileAtomic } from "./write_file_atomic.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cairn-fs-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("writeFileAtomic() writes the whole file with its mode and leaves no temp file", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "f");
    const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7919) & 0xff);
    assertEquals(await writeFileAtomic(path, data, { mode: 0o400 }), "written");
    assertEquals(Deno.readFileSync(path), data);
    assertEquals(Deno.statSync(path).mode! & 0o777, 0o400);
    assertEquals(names(dir), ["f"]);
  });
});

Deno.test("writeFileAtomic() writes a string as UTF-8, owner-only by default", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "s.json");
    await writeFileAtomic(path, "grüße\n");
    assertEquals(Deno.readTextFileSync(path), "grüße\n");
    assertEquals(Deno.statSync(path).mode! & 0o077, 0);
  });
});

Deno.test("writeFileAtomic() replaces an existing file whole", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "f");
    await writeFileAtomic(path, "old old old");
    assertEquals(await writeFileAtomic(path, "new"), "written");
    assertEquals(Deno.readTextFileSync(path), "new");
    assertEquals(names(dir), ["f"]);
  });
});

Deno.test("writeFileAtomic() with ifAbsent keeps an existing file and says so", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "f");
    assertEquals(await writeFileAtomic(path, "first", { ifAbsent: true }), "written");
    assertEquals(await writeFileAtomic(path, "second", { ifAbsent: true }), "exists");
    assertEquals(Deno.readTextFileSync(path), "first");
    assertEquals(names(dir), ["f"]);
  });
});

Deno.test("writeFileAtomic() of racing ifAbsent writers lets exactly one win", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "f");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => writeFileAtomic(path, `w${i}`, { ifAbsent: true })),
    );
    assertEquals(results.filter((r) => r === "written").length, 1);
    assertEquals(names(dir), ["f"]);
  });
});

Deno.test("writeFileAtomic() removes its temp file and keeps the OS error's class on failure", async () => {
  await withDir(async (dir) => {
    // A non-empty directory cannot be renamed over: the rename fails after the temp file exists.
    const path = join(dir, "taken");
    Deno.mkdirSync(path);
    Deno.writeTextFileSync(join(path, "inside"), "x");
    const err = await assertRejects(() => writeFileAtomic(path, "data"));
    assert(Object.values(Deno.errors).some((C) => err.constructor === C), String(err));
    assertEquals(names(dir), ["taken"]);
    assert(!names(dir).some((n) => n.startsWith(TEMP_PREFIX)));
  });
});

Deno.test("writeFileAtomic() into a missing directory fails with NotFound and creates nothing", async () => {
  await withDir(async (dir) => {
    await assertRejects(() => writeFileAtomic(join(dir, "no", "f"), "x"), Deno.errors.NotFound);
    assertEquals(names(dir), []);
  });
});
