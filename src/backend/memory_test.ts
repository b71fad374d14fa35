import { rejects } from "node:assert/strict";
import { backendConformance, bytes, hexName } from "./conformance_test_kit.ts";
import { MemoryBackend } from "./memory.ts";

backendConformance(
  "MemoryBackend",
  () => Promise.resolve({ backend: new MemoryBackend(), cleanup: () => Promise.resolve() }),
);

Deno.test("MemoryBackend refuses different bytes under an existing name", async () => {
  const backend = new MemoryBackend();
  await backend.save("data", hexName(1), bytes(10, 1));
  await rejects(backend.save("data", hexName(1), bytes(10, 2)), /different bytes/);
});
