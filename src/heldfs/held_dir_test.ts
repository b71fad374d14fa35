import { assert, assertEquals, assertThrows } from "../testing/asserts.ts";
import {
  DirChangedError,
  HELD,
  HeldDir,
  NotRegularFileError,
  readRegularFile,
  unheld,
} from "./held_dir.ts";

Deno.test("a held directory keeps its entries in place when its path is swapped for a link", () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  Deno.mkdirSync(`${dir}/a`);
  Deno.mkdirSync(`${dir}/outside`);
  const root = HeldDir.open(dir);
  const a = root.child("a");
  Deno.renameSync(`${dir}/a`, `${dir}/a.moved`);
  Deno.symlinkSync(`${dir}/outside`, `${dir}/a`);
  Deno.writeTextFileSync(a.at("f"), "held");
  if (HELD) {
    assertEquals(Deno.readTextFileSync(`${dir}/a.moved/f`), "held");
    assertEquals([...Deno.readDirSync(`${dir}/outside`)], []);
  }
  // Opening it again by name refuses the link, and a directory that is not the one held.
  assertThrows(() => root.child("a"), DirChangedError, `${dir}/a is not a directory`);
  Deno.removeSync(`${dir}/a`);
  Deno.mkdirSync(`${dir}/a`);
  assertThrows(() => root.child("a", a), DirChangedError, "was replaced");
  // Messages name the directory, not its descriptor.
  assertEquals(unheld(`open '${a.at("f")}'`), `open '${dir}/a/f'`);
  a.close();
  a.close();
  assertThrows(() => a.at("f"), Error, "used after its descriptor closed");
  root.close();
  Deno.removeSync(dir, { recursive: true });
});

for (const likelyThere of [false, true]) {
  Deno.test(`ensureDir(${likelyThere ? "likelyThere" : ""}) replaces a link or file in the way with a real directory`, () => {
    const dir = Deno.realPathSync(Deno.makeTempDirSync());
    Deno.mkdirSync(`${dir}/outside`);
    Deno.symlinkSync(`${dir}/outside`, `${dir}/l`);
    Deno.writeTextFileSync(`${dir}/f`, "x");
    const root = HeldDir.open(dir);
    for (const name of ["l", "f", "new"]) {
      const { dir: d, made } = root.ensureDir(name, { likelyThere });
      assert(made);
      assert(Deno.lstatSync(`${dir}/${name}`).isDirectory);
      d.close();
    }
    const again = root.ensureDir("new", { likelyThere });
    assert(!again.made, "an existing directory is kept");
    assertEquals(again.dir.ino, Deno.lstatSync(`${dir}/new`).ino);
    again.dir.close();
    assertEquals([...Deno.readDirSync(`${dir}/outside`)], []);
    root.close();
    Deno.removeSync(dir, { recursive: true });
  });
}

Deno.test("readRegularFile() refuses a FIFO or a link without waiting, and reads a file", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync());
  assert((await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output()).success);
  Deno.writeTextFileSync(`${dir}/file`, "lock");
  Deno.symlinkSync(`${dir}/file`, `${dir}/link`);
  assertThrows(() => readRegularFile(`${dir}/fifo`, 100), NotRegularFileError, "not a regular");
  assertThrows(() => readRegularFile(`${dir}/link`, 100), NotRegularFileError, "symbolic link");
  assertThrows(() => readRegularFile(`${dir}/none`, 100), Deno.errors.NotFound);
  assertEquals(new TextDecoder().decode(readRegularFile(`${dir}/file`, 100).bytes), "lock");
  assertEquals(readRegularFile(`${dir}/file`, 2).bytes, undefined, "too large");
  Deno.removeSync(dir, { recursive: true });
});
