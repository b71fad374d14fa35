import { dirname } from "node:path";
import { assert, assertEquals } from "../testing/asserts.ts";
import { parseJobConfig } from "./config.ts";

const dir = new URL("../../examples/", import.meta.url);

Deno.test("examples/cairn.service may write everything examples/cairn.toml writes", async () => {
  const unit = await Deno.readTextFile(new URL("cairn.service", dir));
  const text = await Deno.readTextFile(new URL("cairn.toml", dir));
  const config = parseJobConfig(text, "examples/cairn.toml", { env: { HOME: "/root" }, uid: 0 });
  const writable = (/^ReadWritePaths=(.*)$/m.exec(unit)?.[1] ?? "").split(/\s+/).filter(Boolean);
  const covered = (p: string) => writable.some((w) => p === w || p.startsWith(`${w}/`));
  const written = [config.stateDir];
  if (config.metricsFile) written.push(dirname(config.metricsFile));
  for (const r of Object.values(config.repositories)) if (r.path) written.push(r.path);
  for (const j of config.jobs) {
    // A mirror's template is written below its part before the first placeholder.
    if (j.mirror) written.push(j.mirror.path.split("{")[0].replace(/\/$/, ""));
  }
  assert(written.length >= 4, `${written}`);
  for (const p of written) assert(covered(p), `ReadWritePaths= does not cover ${p}`);
});

Deno.test("examples/cairn.service documents itself with what cairn installs", async () => {
  const unit = await Deno.readTextFile(new URL("cairn.service", dir));
  const docs = [...unit.matchAll(/^Documentation=(.*)$/gm)].map((m) => m[1]);
  assertEquals(docs, ["man:cairn(1)"]);
  const readme = await Deno.readTextFile(new URL("../README.md", dir));
  assert(readme.includes("cairn man >"), "the README says how to install the man page");
});
