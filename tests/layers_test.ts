/**
 * The layering docs/ARCHITECTURE.md draws: which module (folder of `src/`)
 * may import which. Dependencies point down, commands → work modules →
 * repo → backend, and the leaves import no other cairn module. Test code
 * (`*_test.ts`, `*_testing.ts`, `*test_kit.ts`, `src/testing/`) may reach
 * across, as a test needs.
 */
import { dirname, join, resolve } from "node:path";
import { assert, assertEquals } from "../src/testing/asserts.ts";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");
const LEAVES = [
  "fs",
  "crypto",
  "chunker",
  "walker",
  "platform",
  "heldfs",
  "prom",
  "http",
  "text",
  "password",
];
const WORK = [
  "archiver",
  "restore",
  "mirror",
  "catalog",
  "dump",
  "job",
  "remote",
  "runner",
  "fleet",
  "ui",
];

/** What each module may import, as docs/ARCHITECTURE.md states it. */
const ALLOWED: Record<string, readonly string[]> = {
  ...Object.fromEntries(LEAVES.map((m) => [m, []])),
  backend: ["fs"],
  walker: ["platform"],
  heldfs: ["platform"],
  repo: ["backend", ...LEAVES],
  catalog: ["repo", ...LEAVES],
  restore: ["repo", ...LEAVES],
  archiver: ["repo", ...LEAVES],
  dump: ["catalog", "repo", ...LEAVES],
  mirror: ["archiver", "catalog", "repo", ...LEAVES],
  job: ["catalog", ...LEAVES],
  remote: [...LEAVES],
  runner: ["archiver", "mirror", "catalog", "job", "remote", "repo", "backend", ...LEAVES],
  fleet: ["job", "remote", ...LEAVES],
  ui: ["catalog", "dump", "restore", "repo", ...LEAVES],
  cli: ["backend", "catalog", "repo", ...LEAVES],
  commands: ["cli", ...WORK, "repo", "backend", ...LEAVES],
};

const isTestCode = (name: string) =>
  name.endsWith("_test.ts") || name.endsWith("_testing.ts") || name.endsWith("test_kit.ts");

/** The other `src/` modules that the non-test files of `module` import. */
function importsOf(module: string): Map<string, string> {
  const out = new Map<string, string>(); // imported module → first file importing it
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(join(ROOT, dir))) {
      const rel = join(dir, e.name);
      if (e.isDirectory) walk(rel);
      else if (e.name.endsWith(".ts") && !isTestCode(e.name)) {
        const code = Deno.readTextFileSync(join(ROOT, rel));
        for (const m of code.matchAll(/\bfrom\s*["']\.\.\/([a-z_]+)\//g)) {
          if (!out.has(m[1])) out.set(m[1], rel);
        }
      }
    }
  };
  walk(`src/${module}`);
  return out;
}

Deno.test("every src/ module is placed in a layer of docs/ARCHITECTURE.md", () => {
  const modules = [...Deno.readDirSync(join(ROOT, "src"))]
    .filter((e) => e.isDirectory && e.name !== "testing").map((e) => e.name).sort();
  assertEquals(modules, Object.keys(ALLOWED).sort());
  const doc = Deno.readTextFileSync(join(ROOT, "docs/ARCHITECTURE.md"));
  for (const m of modules) assert(doc.includes(m), `docs/ARCHITECTURE.md does not name ${m}`);
});

Deno.test("modules import only the layers below them, never src/testing", () => {
  const wrong: string[] = [];
  for (const [module, allowed] of Object.entries(ALLOWED)) {
    for (const [dep, file] of importsOf(module)) {
      if (dep !== module && !allowed.includes(dep)) wrong.push(`${file} imports ${dep}`);
    }
  }
  assertEquals(wrong, []);
});
