/**
 * The layout rules that keep a folder's private files private (README,
 * "Layout"): a file whose name starts with `_` is imported only from its own
 * folder and never re-exported, so a folder's public face is its `mod.ts`.
 * And every module loaded by path at run time (a worker, the mirror's writer
 * module) is in `deno task build`'s `--include` list, or the compiled binary
 * would not find it.
 */
import { dirname, join, relative, resolve } from "node:path";
import { MIRROR_WRITER_MODULE } from "../src/mirror/mod.ts";
import { assert, assertEquals } from "../src/testing/asserts.ts";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** Every `.ts` file under `dir`, as paths relative to the repository. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(join(ROOT, dir))) {
    const rel = join(dir, e.name);
    if (e.isDirectory) out.push(...tsFiles(rel));
    else if (e.isFile && e.name.endsWith(".ts")) out.push(rel);
  }
  return out.sort();
}

/** One module specifier in a file: how it is used, and what it names. */
interface Ref {
  kind: "import" | "export" | "url";
  spec: string;
}

/** Static imports and re-exports, dynamic imports of a literal, and `new URL(…, import.meta.url)`. */
function refs(source: string): Ref[] {
  const out: Ref[] = [];
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  for (const m of code.matchAll(/^\s*(import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm)) {
    out.push({ kind: m[1] as "import" | "export", spec: m[2] });
  }
  for (const m of code.matchAll(/^\s*import\s*["']([^"']+)["']/gm)) {
    out.push({ kind: "import", spec: m[1] });
  }
  for (const m of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    out.push({ kind: "import", spec: m[1] });
  }
  for (const m of code.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) {
    out.push({ kind: "url", spec: m[1] });
  }
  return out;
}

const isPrivate = (path: string) => path.slice(path.lastIndexOf("/") + 1).startsWith("_");

/** Each relative reference of each file: who refers, what it resolves to, and how. */
function allRefs(): { from: string; to: string; kind: Ref["kind"] }[] {
  const files = [...tsFiles("src"), ...tsFiles("tests"), ...tsFiles("bench"), "main.ts"];
  return files.flatMap((from) =>
    refs(Deno.readTextFileSync(join(ROOT, from)))
      .filter((r) => r.spec.startsWith("."))
      .map((r) => ({
        from,
        kind: r.kind,
        to: relative(ROOT, resolve(ROOT, dirname(from), r.spec)),
      }))
  );
}

Deno.test("a private file (_x.ts) is never re-exported", () => {
  const leaks = allRefs()
    .filter((r) => r.kind === "export" && isPrivate(r.to))
    .map((r) => `${r.from} re-exports ${r.to}`);
  assertEquals(leaks, []);
});

Deno.test("a private file (_x.ts) is imported only from its own folder", () => {
  const leaks = allRefs()
    .filter((r) => isPrivate(r.to) && dirname(r.to) !== dirname(r.from))
    .map((r) => `${r.from} imports ${r.to}`);
  assertEquals(leaks, []);
});

Deno.test("the scan sees imports, re-exports and run-time module URLs", () => {
  const got = refs([
    `import { a } from "./_a.ts";`,
    `export * from "../b/_b.ts";`,
    `export type { C } from "./_c.ts";`,
    `import "./_side.ts";`,
    `const w = new Worker(new URL("./_w.ts", import.meta.url).href);`,
    `const s = await import("./s3.ts");`,
    `/** export * from "./_in_a_comment.ts"; */`,
  ].join("\n"));
  assertEquals(got.map((r) => `${r.kind} ${r.spec}`).sort(), [
    "export ../b/_b.ts",
    "export ./_c.ts",
    "import ./_a.ts",
    "import ./_side.ts",
    "import ./s3.ts",
    "url ./_w.ts",
  ]);
});

/** The paths `deno task build` passes to `--include`. */
function buildIncludes(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const build: string = config.tasks.build;
  return [...build.matchAll(/--include\s+(\S+)/g)].map((m) => m[1]);
}

Deno.test("every module loaded by path at run time is in the build's --include list", () => {
  const includes = buildIncludes();
  for (const path of includes) assert(Deno.statSync(join(ROOT, path)).isFile, path);
  const loadedByPath = allRefs()
    .filter((r) => r.kind === "url" && r.from.startsWith("src/") && r.to.endsWith(".ts"))
    .filter((r) => !r.from.endsWith("_test.ts"))
    .map((r) => r.to);
  loadedByPath.push(relative(ROOT, new URL(MIRROR_WRITER_MODULE).pathname));
  assert(loadedByPath.length >= 3, `found only ${loadedByPath.join(", ")}`);
  assertEquals(loadedByPath.filter((p) => !includes.includes(p)), []);
});

Deno.test("the release workflow compiles with deno task build's flags and --include list", () => {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const build: string = config.tasks.build;
  const workflow = Deno.readTextFileSync(join(ROOT, ".github/workflows/release.yml"));
  const release = workflow.match(/deno@\S+ compile [\s\S]*?--output/)?.[0] ?? "";
  assert(release !== "", "no deno compile step in release.yml");
  const flags = (text: string) =>
    [...text.matchAll(/--(?:include\s+\S+|v8-flags=\S+|allow-all|no-check)/g)]
      .map((m) => m[0].replace(/\s+/, " "))
      .sort();
  assertEquals(flags(release), flags(build));
});
