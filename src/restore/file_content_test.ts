import type { Repository } from "../repo/mod.ts";
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
