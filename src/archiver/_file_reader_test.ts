import { Chunker, gearTable } from "../chunker/mod.ts";
import { concatBytes } from "../fs/mod.ts";
import { assert, assertEquals } from "../testing/asserts.ts";
import { chunkFile, chunkFileStable } from "./_file_reader.ts";

const PARAMS = { min: 1024, avg: 4096, max: 16384 };

function sample(size: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = 12345;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

Deno.test("chunkFile() pauses when emit asks to and gives the same chunks", async () => {
  const path = await Deno.makeTempFile();
  const data = sample(200_000);
  await Deno.writeFile(path, data);
  const chunker = new Chunker(gearTable(new Uint8Array(32)), PARAMS);
  const sync: Uint8Array[] = [];
  const n1 = chunkFile(path, data.length, new Uint8Array(PARAMS.max), chunker, (c) => {
    sync.push(c.slice());
  });
  assertEquals(n1, data.length, "no pause asked: the result is synchronous");

  const paused: Uint8Array[] = [];
  let pauses = 0;
  const n2 = chunkFile(path, data.length, new Uint8Array(PARAMS.max), chunker, (c) => {
    paused.push(c.slice());
    pauses++;
    return new Promise<void>((r) => setTimeout(r, 0));
  });
  assert(n2 instanceof Promise, "a pause makes the result a promise");
  assertEquals(await n2, data.length);
  assertEquals(paused, sync);
  assert(pauses > 10);
  assertEquals(concatBytes(paused), data);
  await Deno.remove(path);
});

Deno.test({
  name: "chunkFile() closes the file and rejects when a paused emit fails",
  ignore: Deno.build.os !== "linux", // reads descriptors in /proc
  async fn() {
    const path = await Deno.makeTempFile();
    await Deno.writeFile(path, sample(100_000));
    const chunker = new Chunker(gearTable(new Uint8Array(32)), PARAMS);
    // Tests run in parallel in this process: look for a descriptor of this file, not a count.
    const isOpen = () =>
      [...Deno.readDirSync("/proc/self/fd")].some((fd) => {
        try {
          return Deno.readLinkSync(`/proc/self/fd/${fd.name}`) === path;
        } catch {
          return false; // closed meanwhile
        }
      });
    let calls = 0;
    const r = chunkFile(path, 100_000, new Uint8Array(PARAMS.max), chunker, () => {
      if (++calls === 3) return Promise.reject(new Error("pack write failed"));
    });
    let message = "";
    try {
      await r;
    } catch (err) {
      message = (err as Error).message;
    }
    assertEquals(message, "pack write failed");
    assertEquals(isOpen(), false, "the file was closed");
    await Deno.remove(path);
  },
});

Deno.test("chunkFileStable() rereads a file that grew while it was read", () => {
  const path = Deno.makeTempFileSync();
  const whole = sample(4200);
  // A writer has written half the file when the read starts, the rest during it.
  Deno.writeFileSync(path, whole.subarray(0, 2100));
  const chunker = new Chunker(gearTable(new Uint8Array(32)), PARAMS);
  let chunks: Uint8Array[] = [];
  let restarts = 0;
  const r = chunkFileStable(
    path,
    2100,
    new Uint8Array(PARAMS.max),
    chunker,
    (c) => void chunks.push(c.slice()),
    () => (restarts++, chunks = []),
    undefined,
    (attempt) => {
      if (attempt === 1) Deno.writeFileSync(path, whole.subarray(2100), { append: true });
    },
  );
  assert(!(r instanceof Promise));
  assertEquals([r.size, r.changed, restarts], [4200, false, 1]);
  assertEquals(concatBytes(chunks), whole);
  Deno.removeSync(path);
});

Deno.test("chunkFileStable() reports a file that changes during both reads", () => {
  const path = Deno.makeTempFileSync();
  Deno.writeFileSync(path, sample(3000));
  const chunker = new Chunker(gearTable(new Uint8Array(32)), PARAMS);
  let writes = 0;
  const r = chunkFileStable(
    path,
    3000,
    new Uint8Array(PARAMS.max),
    chunker,
    () => {},
    () => {},
    undefined,
    () => Deno.writeFileSync(path, sample(3000 + ++writes)),
  );
  assert(!(r instanceof Promise));
  assertEquals([r.changed, writes], [true, 2]);
  Deno.removeSync(path);
});

Deno.test("chunkFileStable() takes pseudo-files whose size is not their length as unchanged", () => {
  // Only those this machine has (Linux), and that do misreport their length.
  const pseudo = ["/proc/self/cmdline", "/sys/kernel/mm/transparent_hugepage/enabled"]
    .filter((p) => {
      try {
        return Deno.statSync(p).size !== Deno.readFileSync(p).length;
      } catch {
        return false;
      }
    });
  for (const path of pseudo) {
    const chunker = new Chunker(gearTable(new Uint8Array(32)), PARAMS);
    let restarts = 0;
    const r = chunkFileStable(
      path,
      Deno.statSync(path).size,
      new Uint8Array(PARAMS.max),
      chunker,
      () => {},
      () => void restarts++,
    );
    assert(!(r instanceof Promise));
    assertEquals([r.changed, restarts], [false, 0], path);
  }
});

Deno.test({
  name: "chunkFile() does not read a sparse file's holes and cuts the chunks reading would",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const MIB = 1024 * 1024;
    const dir = await Deno.makeTempDir();
    const sparse = `${dir}/sparse`;
    const f = await Deno.open(sparse, { write: true, create: true });
    await f.truncate(100 * MIB);
    await f.seek(50 * MIB, Deno.SeekMode.Start);
    await f.write(new Uint8Array(4096).fill(0x5a));
    f.close();
    const blocks = Deno.statSync(sparse).blocks ?? 0;
    assert(blocks * 512 < MIB, `the temp directory's file system made no holes (${blocks} blocks)`);
    // The same bytes, all written: every byte is read.
    const dense = `${dir}/dense`;
    await Deno.writeFile(dense, await Deno.readFile(sparse));
    const chunker = new Chunker(gearTable(new Uint8Array(32)), PARAMS);
    const read = (path: string) => {
      const chunks: Uint8Array[] = [];
      const watch = {} as { holeBytes?: number; changed?: boolean };
      const size = chunkFile(
        path,
        100 * MIB,
        new Uint8Array(PARAMS.max),
        chunker,
        (c) => {
          chunks.push(c.slice());
        },
        undefined,
        watch,
      );
      return { size, chunks, watch };
    };
    const s = read(sparse);
    const d = read(dense);
    assertEquals(s.size, 100 * MIB);
    assertEquals(d.watch.holeBytes, 0);
    // Read: the 4 KiB and at most the file system's blocks around it.
    assert(
      100 * MIB - s.watch.holeBytes! <= blocks * 512,
      `read ${100 * MIB - s.watch.holeBytes!}`,
    );
    assertEquals(s.watch.changed, false);
    assertEquals(s.chunks.length, d.chunks.length);
    assert(s.chunks.every((c, i) => c.length === d.chunks[i].length), "the same cut points");
    assertEquals(concatBytes(s.chunks), await Deno.readFile(sparse));
    await Deno.remove(dir, { recursive: true });
  },
});
