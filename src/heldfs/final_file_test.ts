import { assert } from "../testing/asserts.ts";
import { isFinalFile, isNewerFile } from "./final_file.ts";

Deno.test("isFinalFile: same size and mtime only; isNewerFile: mtime at least the snapshot's", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-final-" });
  const f = `${dir}/f`;
  Deno.writeTextFileSync(f, "abc");
  Deno.utimeSync(f, new Date(5000), new Date(5000));
  const st = Deno.lstatSync(f);
  assert(isFinalFile(st, { size: 3, mtimeMs: 5000 }));
  assert(!isFinalFile(st, { size: 4, mtimeMs: 5000 }));
  assert(!isFinalFile(st, { size: 3, mtimeMs: 5001 }));
  assert(
    isNewerFile(st, { size: 9, mtimeMs: 5000 }) && !isNewerFile(st, { size: 3, mtimeMs: 5001 }),
  );
  Deno.symlinkSync("f", `${dir}/l`);
  const link = Deno.lstatSync(`${dir}/l`);
  assert(
    !isFinalFile(link, { size: link.size, mtimeMs: link.mtime!.getTime() }),
    "a link is never final",
  );
  await Deno.remove(dir, { recursive: true });
});
