import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import { backendConformance, bytes, hexName } from "./conformance_test_kit.ts";
import { FaultBackend, InjectedFault } from "./fault.ts";
import { MemoryBackend } from "./memory.ts";

backendConformance("FaultBackend without faults", () =>
  Promise.resolve({
    backend: new FaultBackend(new MemoryBackend()),
    cleanup: () => Promise.resolve(),
  }));

const names = async (b: FaultBackend | MemoryBackend) =>
  (await Array.fromAsync(b.list("data"))).map((f) => f.name);

Deno.test("FaultBackend.failNext() fails exactly that many calls, storing nothing", async () => {
  const memory = new MemoryBackend();
  const backend = new FaultBackend(memory).failNext("save", 2);
  await rejects(backend.save("data", hexName(1), bytes(10, 1)), InjectedFault);
  await rejects(backend.save("data", hexName(1), bytes(10, 1)), InjectedFault);
  deepStrictEqual(await names(memory), []);
  await backend.save("data", hexName(1), bytes(10, 1));
  deepStrictEqual(await names(memory), [hexName(1)]);
  equal(backend.calls.save, 3);
});

Deno.test("FaultBackend.failNext() throws the given error and only for its op", async () => {
  const error = new Error("disk on fire");
  const backend = new FaultBackend(new MemoryBackend()).failNext("load", 1, error);
  await backend.save("data", hexName(1), bytes(10, 1));
  await rejects(backend.load("data", hexName(1)), (err) => err === error);
  equal((await backend.load("data", hexName(1))).length, 10);
});

Deno.test("FaultBackend.failNext() with after: true applies the op, then fails", async () => {
  const memory = new MemoryBackend();
  const backend = new FaultBackend(memory).failNext("save", 1, undefined, { after: true });
  await rejects(backend.save("data", hexName(1), bytes(10, 1)), InjectedFault);
  deepStrictEqual(await names(memory), [hexName(1)]);
});

Deno.test("FaultBackend hook can fail chosen files and break a listing half way", async () => {
  const backend = new FaultBackend(new MemoryBackend());
  for (const i of [1, 2, 3]) await backend.save("data", hexName(i), bytes(10, i));
  backend.hook = (op, _type, name) =>
    name === hexName(2) ? new InjectedFault(`${op} ${name}`) : undefined;
  await rejects(backend.load("data", hexName(2)), InjectedFault);
  equal((await backend.load("data", hexName(1))).length, 10);
  const seen: string[] = [];
  await rejects(async () => {
    for await (const info of backend.list("data")) seen.push(info.name);
  }, InjectedFault);
  deepStrictEqual(seen, [hexName(1)]);
});

Deno.test("FaultBackend.crashAfterSaves() lets N saves through, then fails everything", async () => {
  const memory = new MemoryBackend();
  const backend = new FaultBackend(memory).crashAfterSaves(2);
  const results = await Promise.allSettled(
    [1, 2, 3, 4].map((i) => backend.save("data", hexName(i), bytes(10, i))),
  );
  deepStrictEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "rejected", "rejected"]);
  await rejects(backend.load("data", hexName(1)), InjectedFault);
  await rejects(Array.fromAsync(backend.list("data")), InjectedFault);
  deepStrictEqual((await names(memory)).sort(), [hexName(1), hexName(2)].sort());
  backend.heal();
  equal((await backend.load("data", hexName(1))).length, 10);
});
