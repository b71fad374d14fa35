import { assertEquals } from "../testing/asserts.ts";
import { freeBytes } from "./free_bytes.ts";

Deno.test("freeBytes() detaches an owned buffer, emptying every view of it", () => {
  const bytes = new Uint8Array(64 * 1024).fill(7);
  const view = bytes.subarray(10, 20);
  assertEquals(freeBytes(bytes), true);
  assertEquals(bytes.length, 0);
  assertEquals(view.length, 0);
  assertEquals(bytes.buffer.byteLength, 0);
  assertEquals(freeBytes(bytes), false, "already detached");
});

Deno.test("freeBytes() leaves small, shared, resizable and WASM buffers alone", () => {
  const small = new Uint8Array(8 * 1024);
  assertEquals(freeBytes(small), false);
  assertEquals(small.length, 8 * 1024);
  const shared = new Uint8Array(new SharedArrayBuffer(64 * 1024));
  assertEquals(freeBytes(shared), false);
  assertEquals(shared.length, 64 * 1024);
  const resizable = new Uint8Array(new ArrayBuffer(64 * 1024, { maxByteLength: 128 * 1024 }));
  assertEquals(freeBytes(resizable), false);
  assertEquals(resizable.length, 64 * 1024);
  const wasm = new Uint8Array(new WebAssembly.Memory({ initial: 2 }).buffer);
  assertEquals(freeBytes(wasm), false);
  assertEquals(wasm.length, 2 * 64 * 1024);
});
