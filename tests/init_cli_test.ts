/** `cairn init` options that shape the repository. */
import { assert, assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn } from "./_launcher.ts";

const FAST_KDF = ["--kdf-memory", "8", "--kdf-iterations", "1"];

async function countPacks(repo: string): Promise<number> {
  let n = 0;
  for await (const d of Deno.readDir(`${repo}/data`)) {
    if (d.isDirectory) n += (await Array.fromAsync(Deno.readDir(`${repo}/data/${d.name}`))).length;
  }
  return n;
}

Deno.test("init --pack-size sets the size packs are cut at; out of range is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-init-" });
  try {
    const src = `${dir}/src`;
    await Deno.mkdir(src);
    const data = new Uint8Array(24 * 1048576);
    for (let at = 0; at < data.length; at += 65536) {
      crypto.getRandomValues(data.subarray(at, at + 65536));
    }
    await Deno.writeFile(`${src}/big.bin`, data);
    const packs: number[] = [];
    for (const size of ["4", "32"]) {
      const env = { CAIRN_REPO: `${dir}/repo-${size}`, CAIRN_PASSWORD: "pw" };
      const init = await cairn(["init", ...FAST_KDF, "--pack-size", size], { env });
      assertEquals(init.code, 0, init.stderr);
      const backup = await cairn(["backup", src], { env });
      assertEquals(backup.code, 0, backup.stderr);
      packs.push(await countPacks(`${dir}/repo-${size}`));
    }
    // 24 MiB of random data: at least six 4 MiB packs, and one 32 MiB pack (per worker used).
    assert(packs[0] >= 6, `4 MiB packs: ${packs}`);
    assert(packs[1] <= 2, `32 MiB packs: ${packs}`);

    const env = { CAIRN_REPO: `${dir}/repo-bad`, CAIRN_PASSWORD: "pw" };
    const bad = await cairn(["init", ...FAST_KDF, "--pack-size", "0"], { env });
    assert(bad.code !== 0, bad.stderr);
    assertStringIncludes(bad.stderr, "--pack-size 0");
    assertEquals(bad.stderr.trim().split("\n").length, 1, bad.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
