import { CorruptError } from "./format.ts";
import type { Repository } from "./repository.ts";
import { assertEquals, assertRejects } from "../testing/asserts.ts";
import { fileContent } from "./file_content.ts";

/** A stand-in repository whose blobs arrive out of order and count how many are held. */
function fakeRepo() {
  const stats = { inFlight: 0, maxInFlight: 0 };
  const repo = {
    loadBlob(_type: string, id: string): Promise<Uint8Array> {
      stats.inFlight++;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      const delay = (Number.parseInt(id.slice(-2), 16) * 7) % 5;
      return new Promise((resolve, reject) =>
        setTimeout(() => {
          if (id.startsWith("bad")) reject(new Error(`data blob ${id} is damaged`));
          else resolve(new TextEncoder().encode(id));
        }, delay)
      );
    },
  };
  return { repo: repo as unknown as Repository, stats };
}

Deno.test("fileContent() yields blobs in order with a bounded number in flight", async () => {
  const { repo, stats } = fakeRepo();
  const ids = Array.from({ length: 40 }, (_, i) => i.toString(16).padStart(4, "0"));
  const got: string[] = [];
  for await (const b of fileContent(repo, ids, { prefetch: 3 })) {
    got.push(new TextDecoder().decode(b));
    stats.inFlight--; // the consumer has let go of this blob
  }
  assertEquals(got, ids);
  assertEquals(stats.maxInFlight <= 4, true, `max in flight ${stats.maxInFlight}`);
});

Deno.test("fileContent() reports a damaged blob when its turn comes", async () => {
  const { repo } = fakeRepo();
  const got: string[] = [];
  await assertRejects(
    async () => {
      for await (const b of fileContent(repo, ["0001", "bad2", "0003"])) {
        got.push(new TextDecoder().decode(b));
      }
    },
    Error,
    "bad2 is damaged",
  );
  assertEquals(got, ["0001"]);
});

/** A stand-in repository whose blobs all have `length` bytes by the index; counts loads. */
function sizedRepo(length: number) {
  const loads: string[] = [];
  const repo = {
    loadBlob(_type: "data", id: string) {
      loads.push(id);
      return Promise.resolve(new Uint8Array(length));
    },
    blobLength: (_id: string) => length,
  };
  return { repo, loads };
}

Deno.test("fileContent() loads and holds a blob repeated many times over once", async () => {
  const { repo, loads } = sizedRepo(1024 * 1024);
  const stats = { loads: 0, bytesHeld: 0, maxBytesHeld: 0 };
  let bytes = 0;
  const content = Array(1000).fill("00aa");
  for await (const b of fileContent(repo, content, { size: 1000 * 1024 * 1024, stats })) {
    bytes += b.length;
  }
  assertEquals(bytes, 1000 * 1024 * 1024);
  assertEquals(loads.length, 1);
  assertEquals(stats.maxBytesHeld, 1024 * 1024);
  assertEquals(stats.bytesHeld, 0);
});

Deno.test("fileContent() fetches ahead no more bytes than its budget, but always one blob", async () => {
  const { repo, stats } = fakeRepo();
  const sized = { loadBlob: repo.loadBlob, blobLength: () => 4 * 1024 * 1024 };
  const ids = Array.from({ length: 12 }, (_, i) => i.toString(16).padStart(4, "0"));
  const got: string[] = [];
  for await (const b of fileContent(sized, ids, { prefetchBytes: 8 * 1024 * 1024 })) {
    got.push(new TextDecoder().decode(b));
    stats.inFlight--;
  }
  assertEquals(got, ids);
  assertEquals(stats.maxInFlight, 2);
  const one: string[] = [];
  for await (const b of fileContent(sized, ids.slice(0, 3), { prefetchBytes: 1 })) {
    one.push(new TextDecoder().decode(b));
  }
  assertEquals(one, ids.slice(0, 3));
});

Deno.test("fileContent() refuses blobs that disagree with the size before the first one", async () => {
  const { repo } = sizedRepo(4);
  const got: Uint8Array[] = [];
  await assertRejects(
    async () => {
      for await (const b of fileContent(repo, ["0001", "0002"], { size: 10 })) got.push(b);
    },
    CorruptError,
    "content is 8 bytes, but the snapshot says 10",
  );
  assertEquals(got, []);
});

Deno.test("fileContent() stops content that runs past or falls short of the size", async () => {
  const { repo } = fakeRepo(); // no lengths known: the blobs themselves tell
  const read = async (size: number) => {
    const got: string[] = [];
    const err = await assertRejects(async () => {
      for await (const b of fileContent(repo, ["0001", "0002"], { size })) {
        got.push(new TextDecoder().decode(b));
      }
    }, CorruptError);
    return [got, err.message];
  };
  assertEquals(await read(6), [["0001"], "content is at least 8 bytes, but the snapshot says 6"]);
  assertEquals(await read(9), [["0001", "0002"], "content is 8 bytes, but the snapshot says 9"]);
});
