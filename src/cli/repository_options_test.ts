import { LocalBackend } from "../backend/mod.ts";
import { listLocks, Repository } from "../repo/mod.ts";
import { assertEquals } from "../testing/asserts.ts";
import type { CommandContext } from "./command.ts";
import { memoryOutput } from "./output.ts";
import { openRepository } from "./repository_options.ts";

Deno.test("openRepository(ctx, { read: true }) holds a shared lock until the command ends", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cairn-cli-" });
  const kdf = { memoryKiB: 8192, iterations: 1, parallelism: 1 };
  await Repository.init(await LocalBackend.create(`${dir}/repo`), "pw", { kdf });
  const atEnd: (() => Promise<void>)[] = [];
  const ctx: CommandContext = {
    flags: { repo: `${dir}/repo` },
    positionals: [],
    env: { CAIRN_PASSWORD: "pw" },
    output: memoryOutput(),
    signal: new AbortController().signal,
    atEnd: (step) => void atEnd.push(step),
  };
  const repo = await openRepository(ctx, { read: true });
  assertEquals((await listLocks(repo)).map((l) => [l.kind, l.pid]), [["shared", Deno.pid]]);
  for (const step of atEnd) await step();
  assertEquals(await listLocks(repo), []);
  await Deno.remove(dir, { recursive: true });
});
