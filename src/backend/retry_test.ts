import { deepStrictEqual, equal, rejects } from "node:assert/strict";
import { type BackendOp, NotFoundError } from "./backend.ts";
import { backendConformance, bytes, hexName } from "./conformance_test_kit.ts";
import { FaultBackend, InjectedFault } from "./fault.ts";
import { MemoryBackend } from "./memory.ts";
import { isTransientError, RetryBackend, type RetryOptions } from "./retry.ts";

const noSleep = () => Promise.resolve();

// Every third call fails; retries must hide it. (Per-entry list faults are not
// used here: a periodic fault would hit the same replayed entry every time.)
backendConformance("RetryBackend over a flaky backend", () => {
  let n = 0;
  const flaky = new FaultBackend(new MemoryBackend(), {
    hook: (op, _type, name) =>
      (op !== "list" || name === undefined) && ++n % 3 === 0
        ? new InjectedFault(`flaky ${op}`)
        : undefined,
  });
  return Promise.resolve({
    backend: new RetryBackend(flaky, { sleep: noSleep }),
    cleanup: () => Promise.resolve(),
  });
});

/** A retrying backend over a fault injector, recording the waits it asked for. */
function setup(options: RetryOptions = {}) {
  const faults = new FaultBackend(new MemoryBackend());
  const waits: number[] = [];
  const backend = new RetryBackend(faults, {
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    random: () => 1,
    ...options,
  });
  return { faults, backend, waits };
}

Deno.test("RetryBackend retries transient errors with doubling, capped waits", async () => {
  const { faults, backend, waits } = setup({ baseDelayMs: 100, maxDelayMs: 500, maxAttempts: 6 });
  faults.failNext("save", 5);
  await backend.save("data", hexName(1), bytes(10, 1));
  deepStrictEqual(waits, [100, 200, 400, 500, 500]);
  equal(faults.calls.save, 6);
});

Deno.test("RetryBackend gives up after maxAttempts with the last error", async () => {
  const { faults, backend } = setup({ maxAttempts: 3 });
  const last = new Error("third");
  faults.failNext("load", 2).failNext("load", 1, last);
  await rejects(backend.load("data", hexName(1)), (err) => err === last);
  equal(faults.calls.load, 3);
});

Deno.test("RetryBackend does not retry NotFoundError, TypeError or RangeError", async () => {
  const { faults, backend, waits } = setup();
  await rejects(backend.load("data", hexName(1)), NotFoundError);
  await rejects(backend.load("data", "bad"), TypeError);
  await backend.save("data", hexName(2), bytes(10, 2));
  await rejects(backend.load("data", hexName(2), { offset: 5, length: 10 }), RangeError);
  deepStrictEqual(waits, []);
  equal(faults.calls.load, 3);
});

Deno.test("isTransientError() treats permanent OS errors and aborts as final", () => {
  equal(isTransientError(new Error("connection reset")), true);
  equal(isTransientError(new Deno.errors.ConnectionReset("reset")), true);
  equal(isTransientError(new Deno.errors.PermissionDenied("no")), false);
  equal(isTransientError(new DOMException("stop", "AbortError")), false);
});

Deno.test("RetryBackend stops waiting when the signal aborts", async () => {
  const controller = new AbortController();
  const { faults, backend } = setup({
    sleep: (_ms, signal) => {
      controller.abort(new Error("user quit"));
      return Promise.reject(signal!.reason);
    },
  });
  faults.failNext("stat", 10);
  await rejects(
    backend.stat("data", hexName(1), { signal: controller.signal }),
    /user quit/,
  );
  equal(faults.calls.stat, 1);
});

Deno.test("RetryBackend's default sleep rejects promptly on abort", async () => {
  const faults = new FaultBackend(new MemoryBackend()).failNext("stat", 1);
  const backend = new RetryBackend(faults, { baseDelayMs: 60_000 });
  const controller = new AbortController();
  const pending = backend.stat("data", hexName(1), { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("quit")), 10);
  await rejects(pending, /quit/);
});

Deno.test("RetryBackend restarts a broken listing without repeating entries", async () => {
  const { faults, backend } = setup();
  for (const i of [1, 2, 3]) await backend.save("data", hexName(i), bytes(10, i));
  let broken = false;
  faults.hook = (op: BackendOp, _type, name) => {
    if (op !== "list" || name !== hexName(3) || broken) return undefined;
    broken = true;
    return new InjectedFault("connection dropped");
  };
  const listed = (await Array.fromAsync(backend.list("data"))).map((f) => f.name);
  deepStrictEqual(listed.sort(), [1, 2, 3].map(hexName).sort());
  equal(faults.calls.list, 2);
});

Deno.test("RetryBackend reports each retry to onRetry", async () => {
  const events: string[] = [];
  const { faults, backend } = setup({
    onRetry: (e) => events.push(`${e.op} ${e.type} ${e.attempt} ${e.delayMs}`),
    baseDelayMs: 10,
  });
  faults.failNext("remove", 2);
  await backend.save("locks", hexName(1), bytes(1, 1));
  await backend.remove("locks", hexName(1));
  deepStrictEqual(events, ["remove locks 1 10", "remove locks 2 20"]);
});

Deno.test("RetryBackend keeps listing while each retry makes progress", async () => {
  const { faults, backend } = setup({ maxAttempts: 2 });
  const ids = Array.from({ length: 10 }, (_, i) => i + 1);
  for (const i of ids) await backend.save("data", hexName(i), bytes(1, i));
  const failed = new Set<string>();
  faults.hook = (op: BackendOp, _type, name) => {
    if (op !== "list" || name === undefined || failed.has(name)) return undefined;
    failed.add(name);
    return new InjectedFault(`dropped at ${name}`);
  };
  const listed = (await Array.fromAsync(backend.list("data"))).map((f) => f.name);
  deepStrictEqual(listed.sort(), ids.map(hexName).sort());
});

Deno.test("RetryBackend: a remove whose answer was lost succeeds when the retry finds it gone", async () => {
  const { faults, backend } = setup();
  await backend.save("snapshots", hexName(1), bytes(10, 1));
  // The first attempt removes the file, then fails as a dropped connection would.
  const lost = Object.assign(new InjectedFault("answer lost"), { mayHaveApplied: true });
  faults.failNext("remove", 1, lost, { after: true });
  await backend.remove("snapshots", hexName(1));
  equal(faults.calls.remove, 2);
  // A failure that says nothing of the kind leaves a missing file NotFoundError.
  faults.failNext("remove", 1);
  await rejects(backend.remove("snapshots", hexName(2)), NotFoundError);
  equal(faults.calls.remove, 4);
});
