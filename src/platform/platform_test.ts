import fs from "node:fs";
import { assertEquals, assertThrows } from "../testing/asserts.ts";
import {
  byteFs,
  isByteName,
  lstat,
  nameBytes,
  nameOfBytes,
  NewFile,
  openHoleMap,
  openReadFile,
  OsError,
  readXattrs,
  setLinkTimes,
  setTimes,
  showName,
  SparseWriter,
  stat,
  supported,
  timeNs,
  writeXattr,
} from "./mod.ts";

const enc = new TextEncoder();

Deno.test({
  name: "platform: xattrs of a file and of a symlink itself round trip, sorted",
  ignore: !supported,
  fn() {
    const d = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(`${d}/f`, "x");
      writeXattr(`${d}/f`, "user.zeta", enc.encode("z"));
      writeXattr(`${d}/f`, "user.alpha", new Uint8Array([0, 255, 1]));
      writeXattr(`${d}/f`, "user.empty", new Uint8Array());
      assertEquals(readXattrs(`${d}/f`), [
        { name: "user.alpha", value: new Uint8Array([0, 255, 1]) },
        { name: "user.empty", value: new Uint8Array() },
        { name: "user.zeta", value: enc.encode("z") },
      ]);
      // A long value needs the size probe to be honoured.
      const big = new Uint8Array(3000).fill(7);
      writeXattr(`${d}/f`, "user.big", big);
      assertEquals(readXattrs(`${d}/f`).find((x) => x.name === "user.big")?.value, big);
      Deno.symlinkSync("f", `${d}/l`);
      // user.* is not allowed on symlinks by Linux; the link's own list is read, not f's.
      assertEquals(readXattrs(`${d}/l`), []);
    } finally {
      Deno.removeSync(d, { recursive: true });
    }
  },
});

Deno.test({
  name: "platform: a failed call names the call, the path and the attribute",
  ignore: !supported,
  fn() {
    const d = Deno.makeTempDirSync();
    try {
      const err = assertThrows(
        () => writeXattr(`${d}/missing`, "user.note", enc.encode("v")),
        OsError,
      );
      assertEquals(err.message, `lsetxattr ${d}/missing user.note: No such file or directory`);
      assertEquals((err as OsError).errno, 2);
      assertThrows(() => readXattrs(`${d}/missing`), OsError, "llistxattr");
    } finally {
      Deno.removeSync(d, { recursive: true });
    }
  },
});

Deno.test({
  name: "platform: setLinkTimes sets a symlink's own mtime and leaves its target alone",
  ignore: !supported,
  fn() {
    const d = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(`${d}/f`, "x");
      const before = Deno.statSync(`${d}/f`).mtime;
      Deno.symlinkSync("f", `${d}/l`);
      setLinkTimes(`${d}/l`, 1_000_000_000_000_000_000n, 1_234_567_890_123_000_000n);
      assertEquals(Deno.lstatSync(`${d}/l`).mtime?.getTime(), 1_234_567_890_123);
      assertEquals(Deno.statSync(`${d}/f`).mtime, before);
      // Before the epoch too: the nanoseconds are carried into range.
      setLinkTimes(`${d}/l`, 0n, -1_500_000_000n);
      assertEquals(Deno.lstatSync(`${d}/l`).mtime?.getTime(), -1500);
    } finally {
      Deno.removeSync(d, { recursive: true });
    }
  },
});

Deno.test({
  name: "platform: a worker thread can call libc too",
  ignore: !supported,
  async fn() {
    const d = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(`${d}/f`, "x");
      const src = `import { writeXattr } from ${JSON.stringify(import.meta.resolve("./mod.ts"))};
        self.onmessage = (e) => {
          writeXattr(e.data, "user.from", new TextEncoder().encode("worker"));
          self.postMessage("ok");
        };`;
      const url = `data:application/javascript,${encodeURIComponent(src)}`;
      const w = new Worker(url, { type: "module" });
      const reply = new Promise((res, rej) => {
        w.onmessage = (e) => res(e.data);
        w.onerror = (e) => {
          e.preventDefault();
          rej(new Error(e.message));
        };
      });
      w.postMessage(`${d}/f`);
      assertEquals(await reply, "ok");
      w.terminate();
      assertEquals(readXattrs(`${d}/f`), [{ name: "user.from", value: enc.encode("worker") }]);
    } finally {
      Deno.removeSync(d, { recursive: true });
    }
  },
});

Deno.test({
  name: "platform: lstat gives what Deno's lstat does, with times to the nanosecond",
  ignore: !supported,
  fn() {
    const d = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(`${d}/f`, "hello");
      Deno.symlinkSync("f", `${d}/l`);
      setTimes(`${d}/f`, "1000000000123456789", "1500000000987654321");
      setTimes(`${d}/l`, "1", "2000000000000000001"); // the link itself, not f
      const f = lstat(`${d}/f`);
      assertEquals([f.atimeNs, f.mtimeNs], ["1000000000123456789", "1500000000987654321"]);
      assertEquals(lstat(`${d}/l`).mtimeNs, "2000000000000000001");
      assertEquals(lstat(`${d}/f`).mtimeNs, "1500000000987654321");
      // Following: the held-directory case (/proc/self/fd/N) and any link.
      assertEquals(stat(`${d}/l`).ino, f.ino);
      setTimes(`${d}/l`, "3", "4000000000000000004", { follow: true });
      assertEquals(lstat(`${d}/f`).mtimeNs, "4000000000000000004");
      for (const p of [`${d}/f`, `${d}/l`, d, "/dev/null"]) {
        const ours = lstat(p);
        const deno = Deno.lstatSync(p);
        for (
          const k of ["isFile", "isDirectory", "isSymlink", "isCharDevice", "size", "mode", "uid"]
            .concat(["gid", "ino", "dev", "nlink", "rdev", "blocks"]) as (keyof Deno.FileInfo)[]
        ) assertEquals(ours[k], deno[k], `${p} ${k}`);
        assertEquals(ours.mtime?.getTime(), deno.mtime?.getTime(), `${p} mtime`);
        assertEquals(ours.ctime!.getTime() - (ours.ctime!.getTime() % 1000), deno.ctime?.getTime());
      }
      const e = assertThrows(() => lstat(`${d}/missing`), Deno.errors.NotFound);
      assertEquals(e.message, `No such file or directory (os error 2): lstat '${d}/missing'`);
    } finally {
      Deno.removeSync(d, { recursive: true });
    }
  },
});

Deno.test("platform: timeNs joins seconds and nanoseconds, before 1970 too", () => {
  assertEquals(timeNs(1, 5), "1000000005");
  assertEquals(timeNs(1700000000, 123456789), "1700000000123456789");
  assertEquals(timeNs(0, 7), "7");
  assertEquals(timeNs(-2, 500000000), "-1500000000");
});

Deno.test({
  name: "platform: openHoleMap finds a sparse file's data between its holes",
  ignore: !supported,
  fn() {
    const dir = Deno.makeTempDirSync();
    const path = `${dir}/sparse`;
    const f = Deno.openSync(path, { write: true, create: true });
    f.truncateSync(8 * 1024 * 1024);
    f.seekSync(4 * 1024 * 1024, Deno.SeekMode.Start);
    f.writeSync(new Uint8Array(4096).fill(1));
    f.close();
    const info = Deno.statSync(path);
    const map = openHoleMap(path, info)!;
    try {
      assertEquals(map.nextHole(0), 0);
      assertEquals(map.nextData(0), 4 * 1024 * 1024);
      assertEquals(map.nextHole(4 * 1024 * 1024), 4 * 1024 * 1024 + 4096);
      assertEquals(map.nextData(4 * 1024 * 1024 + 4096), -1);
    } finally {
      map.close();
    }
    // Another file under that name now: no map, so the caller reads it all.
    Deno.writeFileSync(`${dir}/other`, new Uint8Array(10));
    Deno.renameSync(`${dir}/other`, path);
    assertEquals(openHoleMap(path, info), null);
    Deno.removeSync(dir, { recursive: true });
  },
});

Deno.test("byte names: every byte string survives nameOfBytes and nameBytes, UTF-8 as its text", () => {
  const cases = [
    [0x63, 0x61, 0x66, 0xe9],
    [0xff],
    [0xc3, 0xa9], // é in UTF-8
    [0xed, 0xb2, 0x80], // a UTF-8 surrogate: invalid
    [0xf0, 0x9f, 0x82, 0x80, 0xff], // U+1F080 (its low surrogate is DC80) then 0xFF
    [0xe2, 0x82], // a cut sequence
    [0xc0, 0xaf], // overlong /
  ];
  for (const c of cases) {
    const bytes = new Uint8Array(c);
    const name = nameOfBytes(bytes);
    assertEquals(nameBytes(name), bytes, name);
    let utf8 = true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      utf8 = false;
    }
    assertEquals(isByteName(name), !utf8, `${c}`);
  }
  assertEquals(nameOfBytes(new Uint8Array([0xc3, 0xa9])), "é");
  assertEquals(showName(nameOfBytes(new Uint8Array([0x63, 0xe9, 0xff]))), "c\\xE9\\xFF");
  assertEquals(showName("caf\u00e9 \u{1F080}"), "caf\u00e9 \u{1F080}");
});

Deno.test({
  name: "byteFs: a name that is not UTF-8 is listed, made, read, linked and removed by its bytes",
  ignore: !supported,
  fn() {
    const dir = Deno.makeTempDirSync();
    const name = nameOfBytes(new Uint8Array([0x78, 0xe9, 0xff]));
    const path = `${dir}/${name}`;
    const f = byteFs.openSync(path, { write: true, createNew: true, mode: 0o640 });
    f.writeSync(new TextEncoder().encode("data"));
    f.close();
    assertThrows(
      () => byteFs.openSync(path, { write: true, createNew: true }),
      Deno.errors.AlreadyExists,
    );
    byteFs.mkdirSync(`${path}.d`, { mode: 0o700 });
    byteFs.symlinkSync(name, `${path}.l`);
    byteFs.linkSync(path, `${path}.h`);
    assertEquals(byteFs.readDirNames(dir), [name, `${name}.d`, `${name}.h`, `${name}.l`]);
    assertEquals(byteFs.readLinkSync(`${path}.l`), name);
    assertEquals(byteFs.lstatSync(path).mode! & 0o777, 0o640);
    assertEquals(byteFs.lstatSync(`${path}.h`).nlink, 2);
    const r = byteFs.openSync(`${path}.h`, { read: true });
    const buf = new Uint8Array(8);
    assertEquals(new TextDecoder().decode(buf.subarray(0, r.readSync(buf)!)), "data");
    r.close();
    // What the shell sees is the exact bytes.
    const ls = new Deno.Command("ls", { args: [dir], stdout: "piped" }).outputSync().stdout;
    assertEquals(ls.subarray(0, 4), new Uint8Array([0x78, 0xe9, 0xff, 0x0a]));
    assertThrows(() => byteFs.lstatSync(`${path}.missing`), Deno.errors.NotFound);
    for (const n of ["", ".d", ".h", ".l"]) byteFs.removeSync(`${path}${n}`);
    assertEquals(byteFs.readDirNames(dir), []);
    Deno.removeSync(dir);
  },
});

Deno.test({
  name:
    "platform: NewFile creates only a new entry, never through a link, and sets bytes, holes, mode and times by its descriptor",
  ignore: !supported,
  fn() {
    const d = Deno.makeTempDirSync();
    try {
      Deno.writeTextFileSync(`${d}/there`, "keep");
      Deno.writeTextFileSync(`${d}/aim`, "aim");
      Deno.symlinkSync(`${d}/aim`, `${d}/link`);
      Deno.symlinkSync(`${d}/none`, `${d}/dangling`);
      assertThrows(() => NewFile.create(`${d}/there`, 0o644), Deno.errors.AlreadyExists);
      assertThrows(() => NewFile.create(`${d}/link`, 0o644), Deno.errors.AlreadyExists);
      assertThrows(() => NewFile.create(`${d}/dangling`, 0o644), Deno.errors.AlreadyExists);
      const dirFd = fs.openSync(d, "r");
      try {
        for (const name of ["there", "link", "dangling"]) {
          assertThrows(() => NewFile.createAt(dirFd, name, name, 0o644), Deno.errors.AlreadyExists);
        }
        NewFile.createAt(dirFd, "at", "at", 0o600).close();
        assertEquals(Deno.lstatSync(`${d}/at`).isFile, true);
      } finally {
        fs.closeSync(dirFd);
      }
      assertEquals(Deno.readTextFileSync(`${d}/there`), "keep");
      assertEquals(Deno.readTextFileSync(`${d}/aim`), "aim");
      assertThrows(() => Deno.lstatSync(`${d}/none`), Deno.errors.NotFound);

      const f = NewFile.create(`${d}/new`, 0o600, true);
      try {
        const out = new SparseWriter(f);
        const data = new Uint8Array(100_000);
        data.fill(7, 0, 10);
        data.fill(9, 99_990);
        out.write(data);
        out.write(new Uint8Array(40_000)); // a trailing hole, made by ftruncate
        out.finish();
        f.chmod(0o640);
        assertEquals(f.stat().mode & 0o7777, 0o640);
        const back = new Uint8Array(140_000);
        f.seekSync(0, Deno.SeekMode.Start);
        let at = 0;
        for (let n = f.readSync(back); n !== null; n = f.readSync(back.subarray(at))) {
          at += n;
          if (at === back.length) break;
        }
        assertEquals(at, 140_000);
        assertEquals(back.subarray(0, 100_000), data);
        assertEquals(back.subarray(100_000).every((b) => b === 0), true);
        // Last: a read after it would move the atime on.
        f.setTimes("1700000000123456789", "1600000000987654321");
      } finally {
        f.close();
      }
      const st = lstat(`${d}/new`);
      assertEquals(st.size, 140_000);
      assertEquals(st.mtimeNs, "1600000000987654321");
      assertEquals(st.atimeNs, "1700000000123456789");
      assertEquals(st.mode! & 0o7777, 0o640);
    } finally {
      Deno.removeSync(d, { recursive: true });
    }
  },
});

Deno.test("platform: openReadFile reads, seeks and stats as Deno's calls do, and fails as they do", () => {
  const d = Deno.makeTempDirSync();
  try {
    const bytes = new Uint8Array(70_000).map((_, i) => i % 251);
    // A byte name too: its path is spelled with U+DC00+byte, as the walker gives it.
    for (const name of ["f", nameOfBytes(new Uint8Array([0x66, 0xff]))]) {
      const path = `${d}/${name}`;
      const w = byteFs.openSync(path, { write: true, createNew: true });
      w.writeSync(bytes); // one write: a regular file takes it whole
      w.close();
      const info = byteFs.lstatSync(path);
      const f = openReadFile(path);
      try {
        const st = f.stat();
        assertEquals([st.size, st.ino, st.dev], [bytes.length, info.ino, info.dev]);
        assertEquals(Math.floor(st.mtimeMs), info.mtime!.getTime());
        const buf = new Uint8Array(50_000);
        assertEquals(f.read(buf), 50_000);
        assertEquals(buf, bytes.subarray(0, 50_000));
        assertEquals(f.read(buf), 20_000);
        assertEquals(f.read(buf), 0);
        f.seek(69_999);
        assertEquals(f.read(buf), 1);
        assertEquals(buf[0], bytes[69_999]);
      } finally {
        f.close();
      }
    }
    const err = assertThrows(() => openReadFile(`${d}/missing`), Deno.errors.NotFound);
    assertEquals(err.message.includes(`${d}/missing`), true);
    assertThrows(() => openReadFile(d).read(new Uint8Array(8)), Deno.errors.IsADirectory);
  } finally {
    Deno.removeSync(d, { recursive: true });
  }
});
