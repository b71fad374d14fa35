import { assertEquals, assertStringIncludes } from "../src/testing/asserts.ts";
import { cairn, makeRepo, writeJobFile } from "./_launcher.ts";

const CACHE_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n";

Deno.test("a job's files_from, exclude_file, iexclude, exclude_caches and exclude_larger_than select as the flags do", async () => {
  const { dir, env } = await makeRepo();
  try {
    const a = `${dir}/a`;
    const b = `${dir}/b`;
    await Deno.mkdir(`${a}/cache`, { recursive: true });
    await Deno.mkdir(`${a}/skip`, { recursive: true });
    await Deno.mkdir(b);
    await Deno.writeTextFile(`${a}/keep.txt`, "keep\n");
    await Deno.writeTextFile(`${a}/notes.LOG`, "iexcluded\n");
    await Deno.writeTextFile(`${a}/old.bak`, "excluded by the exclude file\n");
    await Deno.writeTextFile(`${a}/big.bin`, "x".repeat(5000));
    await Deno.writeTextFile(`${a}/cache/CACHEDIR.TAG`, CACHE_TAG);
    await Deno.writeTextFile(`${a}/cache/c.txt`, "cached\n");
    await Deno.writeTextFile(`${a}/skip/.nobackup`, "");
    await Deno.writeTextFile(`${b}/b.txt`, "listed\n");
    await Deno.writeTextFile(`${dir}/list`, `# what to back up\n${a}\n\n  ${b}  \n`);
    await Deno.writeTextFile(`${dir}/excludes`, "*.bak\n");
    const config = await writeJobFile(dir, env, [
      "[[job]]",
      `name = "sel"`,
      `files_from = "${dir}/list"`,
      `exclude_file = ["${dir}/excludes"]`,
      `iexclude = ["*.log"]`,
      "exclude_caches = true",
      `exclude_larger_than = "4K"`,
      `exclude_if_present = ".nobackup"`,
    ]);
    const r = await cairn(["run", "--config", config, "sel"]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    const ls = await cairn(["ls", "latest"], { env });
    assertEquals(ls.code, 0, ls.stderr);
    const files = ls.stdout.trim().split("\n").filter((p) => p.startsWith(`${dir}/`)).sort();
    assertEquals(files, [a, `${a}/keep.txt`, b, `${b}/b.txt`].sort());

    // A list file that is gone, or that names a relative path, fails the run in one line.
    await Deno.remove(`${dir}/list`);
    const gone = await cairn(["run", "--config", config, "sel"]);
    assertEquals(gone.code, 1);
    assertStringIncludes(gone.stdout, `files_from ${dir}/list: `);
    await Deno.writeTextFile(`${dir}/list`, "relative/dir\n");
    const relative = await cairn(["run", "--config", config, "sel"]);
    assertEquals(relative.code, 1);
    assertStringIncludes(relative.stdout, `"relative/dir" is not an absolute path`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
