/**
 * Minimal assertions for tests (JSR's `@std/assert` is not available here).
 *
 * @module
 */

import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

/** `value` is an instance of `type`. */
export function assertInstanceOf<T>(
  value: unknown,
  type: abstract new (...args: never[]) => T,
  message?: string,
): asserts value is T {
  assert.ok(
    value instanceof type,
    message ?? `expected an instance of ${type.name}, got ${String(value)}`,
  );
}

/** `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  assert.match(text, pattern, message);
}

/** Truthy. */
export function assert_(value: unknown, message?: string): asserts value {
  assert.ok(value, message);
}

/** `fn` throws; returns what it threw. */
export function assertThrows(fn: () => unknown, message?: string): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new assert.AssertionError({ message: message ?? "expected the function to throw" });
}

/** `promise` rejects; returns the reason. */
export async function assertRejects(promise: Promise<unknown>, message?: string): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new assert.AssertionError({ message: message ?? "expected the promise to reject" });
}
