import { assert, assertEquals, assertRejects } from "../testing/asserts.ts";
import { abortableSleep } from "./abortable_sleep.ts";

Deno.test("abortableSleep() resolves after about the time asked", async () => {
  const start = performance.now();
  await abortableSleep(30);
  assert(performance.now() - start >= 25);
});

Deno.test("abortableSleep() rejects with the signal's reason when aborted meanwhile", async () => {
  const ac = new AbortController();
  const reason = new Error("stop");
  setTimeout(() => ac.abort(reason), 10);
  const err = await assertRejects(() => abortableSleep(60_000, ac.signal));
  assertEquals(err, reason);
});

Deno.test("abortableSleep() rejects at once when the signal is already aborted", async () => {
  const reason = new Error("already");
  const err = await assertRejects(() => abortableSleep(60_000, AbortSignal.abort(reason)));
  assertEquals(err, reason);
});

Deno.test("abortableSleep() waits, not fires at once, beyond setTimeout's 2^31-1 ms", async () => {
  const ac = new AbortController();
  let settled = false;
  const sleep = abortableSleep(2 ** 40, ac.signal).then(() => (settled = true), () => {});
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(settled, false);
  ac.abort(new Error("done"));
  await sleep;
  assertEquals(settled, false);
});
