import { assert, assertEquals } from "../testing/asserts.ts";
import { readMemoryTrace } from "./mod.ts";

/** Runs a Deno script in a process of its own with `CAIRN_MEMORY_TRACE` set to `dir`. */
async function traced(dir: string, script: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { CAIRN_MEMORY_TRACE: dir },
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
}

const MODULE = new URL("./memory.ts", import.meta.url).href;

Deno.test("CAIRN_MEMORY_TRACE: each traced thread leaves its peaks, buffers counted as external", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The main thread holds 48 MiB of ArrayBuffer for a few samples; a worker holds none.
    await traced(
      dir,
      `import { traceMemory } from "${MODULE}";
      traceMemory("main");
      traceMemory("main"); // a second call in one thread starts nothing more
      const held = new Uint8Array(48 * 1024 * 1024).fill(1);
      const src = "import { traceMemory } from '${MODULE}'; traceMemory('worker'); " +
        "self.onmessage = () => setTimeout(() => self.postMessage('done'), 200);";
      const w = new Worker("data:application/typescript," + encodeURIComponent(src), { type: "module" });
      w.postMessage("go");
      await new Promise((r) => (w.onmessage = r));
      w.terminate();
      await new Promise((r) => setTimeout(r, 200));
      if (held[7] !== 1) throw new Error("unreachable");`,
    );
    const peaks = readMemoryTrace(dir);
    assertEquals(peaks.map((p) => p.thread), ["main", "worker"]);
    const [main, worker] = peaks;
    assert(main.external >= 48 * 1024 * 1024, `main external ${main.external}`);
    assert(worker.external < 16 * 1024 * 1024, `worker external ${worker.external}`);
    assert(main.samples >= 3 && worker.samples >= 2, JSON.stringify(peaks));
    for (const p of peaks) assert(p.heapUsed > 0 && p.heapTotal >= p.heapUsed && p.rss > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
