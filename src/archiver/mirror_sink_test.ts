import { join } from "node:path";
import { LocalBackend } from "../backend/mod.ts";
import { Repository } from "../repo/mod.ts";
import { assertEquals } from "../testing/asserts.ts";
import { backup } from "./archiver.ts";
import type { MirrorDir, MirrorEntry, MirrorSink, MirrorTarget } from "./mirror_sink.ts";

const FAST = { kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 } };

/** A sink that records what the walk asks and copies every file into `out`. */
function recordingSink(src: string, out: string) {
  const log: string[] = [];
  const dir = (at: string, shown: string): MirrorDir => ({
    subdir(name: string, _e: MirrorEntry, names: readonly string[]) {
      log.push(`dir ${shown}/${name} [${names.join(",")}]`);
      Deno.mkdirSync(join(at, name));
      return dir(join(at, name), `${shown}/${name}`);
    },
    file(name: string, e: MirrorEntry): MirrorTarget {
      return { path: join(at, name), mode: e.mode, mtimeMs: e.mtimeMs };
    },
    symlink: (name, target) => log.push(`symlink ${shown}/${name} -> ${target}`),
    drop: (name) => log.push(`drop ${shown}/${name}`),
    done: () => log.push(`done ${shown}`),
  });
  const sink: MirrorSink = {
    writerModule: new URL("./testdata/copy_writer.ts", import.meta.url).href,
    root(path, _e, names) {
      if (path !== src) return undefined;
      log.push(`root [${names.join(",")}]`);
      return dir(out, "");
    },
    written(target, bytes, error, retimed, warnings) {
      log.push(`written ${target.path.slice(out.length)} ${bytes} ${error} ${retimed} ${warnings}`);
    },
  };
  return { sink, log };
}

Deno.test("backup() feeds a MirrorSink alone: the walk asks it, the workers write with its module", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-sink-" });
  try {
    const repo = await Repository.init(await LocalBackend.create(`${dir}/repo`), "pw", FAST);
    const src = `${dir}/src`;
    const out = `${dir}/out`;
    Deno.mkdirSync(`${src}/sub`, { recursive: true });
    Deno.mkdirSync(out);
    Deno.writeTextFileSync(`${src}/a.txt`, "hello\n");
    const big = crypto.getRandomValues(new Uint8Array(60_000));
    Deno.writeFileSync(`${src}/sub/b.bin`, big);
    Deno.symlinkSync("../a.txt", `${src}/sub/l`);
    const { sink, log } = recordingSink(src, out);
    await backup(repo, { paths: [src], host: "h", mirror: sink });
    assertEquals(Deno.readTextFileSync(`${out}/a.txt`), "hello\n");
    assertEquals(Deno.readFileSync(`${out}/sub/b.bin`), big);
    assertEquals(log.filter((l) => !l.startsWith("written") && !l.startsWith("done")), [
      "root [a.txt,sub]",
      "dir /sub [b.bin,l]",
      "symlink /sub/l -> ../a.txt",
    ]);
    assertEquals(log.filter((l) => l.startsWith("written")).sort(), [
      "written /a.txt 6 undefined false committed",
      "written /sub/b.bin 60000 undefined false committed",
    ]);
    assertEquals(log.filter((l) => l.startsWith("done")).sort(), ["done ", "done /sub"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
