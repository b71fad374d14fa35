import { fileURLToPath } from "node:url";
import { assert, assertEquals } from "../testing/asserts.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

/** The numbered rules of docs/PRUNE.md's "The rules" section, by number. */
function rules(): Map<number, string> {
  const doc = Deno.readTextFileSync(`${root}docs/PRUNE.md`);
  const section = doc.split("### The rules")[1]?.split("\n### ")[0] ?? "";
  const out = new Map<number, string>();
  for (const m of section.matchAll(/^(\d+)\. \*\*([^*]+)\*\*/gm)) out.set(Number(m[1]), m[2]);
  return out;
}

/** Every "rule N" / "rules N, M and K" a file cites. */
function citations(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/\brules? (\d+(?:(?:, | and |-)\d+)*)/g)) {
    for (const n of m[1].split(/, | and |-/)) out.push(Number(n));
  }
  return out;
}

function* sources(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* sources(path);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield path;
  }
}

Deno.test("docs/PRUNE.md numbers its prune-safety rules 1..N, once each", () => {
  const r = rules();
  assert(r.size >= 10, `found ${r.size} rules`);
  assertEquals([...r.keys()], Array.from({ length: r.size }, (_, i) => i + 1));
});

Deno.test("every prune rule the code and docs cite exists in docs/PRUNE.md", () => {
  const count = rules().size;
  const files = [...sources(`${root}src`), `${root}README.md`, `${root}docs/PRUNE.md`];
  let cited = 0;
  for (const file of files) {
    for (const n of citations(Deno.readTextFileSync(file))) {
      cited++;
      assert(n >= 1 && n <= count, `${file.slice(root.length)} cites rule ${n} of ${count}`);
    }
  }
  assert(cited > 20, `only ${cited} citations found`);
});
