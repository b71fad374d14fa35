import { MemoryBackend } from "../backend/mod.ts";
import { assertEquals } from "../testing/asserts.ts";
import { MasterIndex, type PackEntry, saveIndexFile } from "./index.ts";
import { SnapshotGuard } from "./snapshot_guard.ts";

/** A backend that counts the index files loaded through it. */
class CountingBackend extends MemoryBackend {
  indexLoads = 0;
  override load(...args: Parameters<MemoryBackend["load"]>) {
    if (args[0] === "index") this.indexLoads++;
    return super.load(...args);
  }
}

const ID = "ab".repeat(32);
const pack: PackEntry = {
  name: "cd".repeat(32),
  salt: new Uint8Array(16),
  blobs: [{ type: "data", id: ID, offset: 36, length: 100, rawLength: 80, at: 0 }],
};

function guardOn(backend: CountingBackend, enc: Uint8Array) {
  return new SnapshotGuard({
    backend,
    master: { enc },
    indexFiles: [],
    index: new MasterIndex(),
    reloadIndex: () => Promise.reject(new Error("no reload expected")),
    loadTree: () => Promise.reject(new Error("no tree walk expected")),
  });
}

Deno.test("SnapshotGuard.verify() reads an index file another backup added, not one it wrote", async () => {
  const enc = crypto.getRandomValues(new Uint8Array(32));
  const other = new CountingBackend();
  await saveIndexFile(other, enc, [pack]);
  await guardOn(other, enc).verify("root");
  assertEquals(other.indexLoads, 1, "a file added meanwhile is read for what it supersedes");

  const own = new CountingBackend();
  const guard = guardOn(own, enc);
  guard.wrote(await saveIndexFile(own, enc, [pack]));
  await guard.verify("root");
  assertEquals(own.indexLoads, 0, "the backup's own index file is not read again");
});
