import { assert, assertEquals } from "../testing/asserts.ts";
import { nameOfBytes } from "../platform/mod.ts";
import { BLOCK, tarHeader } from "./tar.ts";

const dec = new TextDecoder();

function field(b: Uint8Array, at: number, len: number): string {
  return dec.decode(b.subarray(at, at + len)).replace(/\0.*$/s, "");
}

Deno.test("tarHeader() writes ustar headers whose checksum tar accepts", () => {
  const h = tarHeader({
    path: "a/b.txt",
    type: "file",
    mode: 0o640,
    uid: 7,
    gid: 8,
    size: 12345,
    mtimeNs: 1_600_000_000_000_000_000n,
  });
  assertEquals(h.length, BLOCK);
  assertEquals(field(h, 0, 100), "a/b.txt");
  assertEquals(parseInt(field(h, 124, 12), 8), 12345);
  assertEquals(parseInt(field(h, 136, 12), 8), 1_600_000_000);
  const sum = h.reduce((s, x, i) => s + (i >= 148 && i < 156 ? 0x20 : x), 0);
  assertEquals(parseInt(field(h, 148, 8), 8), sum);
});

Deno.test("tarHeader() pax records count their own length, across digit boundaries", () => {
  for (let n = 80; n < 1100; n += 7) {
    const path = "p/" + "x".repeat(n);
    const h = tarHeader({
      path,
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 9 * 2 ** 33,
      mtimeNs: 1_500_000_000_123_000_000n,
    });
    assertEquals(field(h, 156, 1), "x");
    const size = parseInt(field(h, 124, 12), 8);
    const body = dec.decode(h.subarray(BLOCK, BLOCK + size));
    const seen: Record<string, string> = {};
    let at = 0;
    while (at < body.length) {
      const len = parseInt(body.slice(at));
      const rec = body.slice(at, at + len);
      assertEquals(rec.at(-1), "\n", `record at ${at} of path length ${n}`);
      const [k, v] = rec.slice(rec.indexOf(" ") + 1, -1).split(/=(.*)/s);
      seen[k] = v;
      at += len;
    }
    if (n > 98) assertEquals(seen.path, path);
    assertEquals(seen.size, String(9 * 2 ** 33));
    assertEquals(seen.mtime, "1500000000.123");
  }
});

Deno.test("tarHeader() writes a name that is not UTF-8 as its bytes, a long one in pax too", () => {
  const entry = (path: string, linkname?: string) =>
    tarHeader({
      path,
      linkname,
      type: "symlink",
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0,
      mtimeNs: 0n,
    });
  const name = nameOfBytes(new Uint8Array([0x64, 0x2f, 0xe9, 0xff]));
  const short = entry(name, nameOfBytes(new Uint8Array([0xe9])));
  assertEquals(short.length, BLOCK, "no pax header");
  assertEquals(short.subarray(0, 5), new Uint8Array([0x64, 0x2f, 0xe9, 0xff, 0]));
  assertEquals(short.subarray(157, 159), new Uint8Array([0xe9, 0]));
  const long = entry(`${"d/".repeat(60)}${name}`);
  const pax = long.subarray(BLOCK, 2 * BLOCK);
  const want = new Uint8Array([...new TextEncoder().encode(`path=${"d/".repeat(61)}`), 0xe9, 0xff]);
  const at = pax.findIndex((_, i) => want.every((b, j) => pax[i + j] === b));
  assert(at > 0, "the pax path holds the exact bytes");
});
