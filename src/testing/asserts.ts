/**
 * The assertions our tests use, in the shape of Deno's std/assert (which is
 * on JSR, out of reach here), built on node:assert's deep equality.
 *
 * @module
 */
import { AssertionError, deepStrictEqual, notDeepStrictEqual } from "node:assert";

/** Throws unless `cond` is truthy. */
export function assert(cond: unknown, msg = "expected a truthy value"): asserts cond {
  if (!cond) throw new AssertionError({ message: msg });
}

/** Deep, strict equality (typed arrays compare by content). */
export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  deepStrictEqual(actual, expected, msg);
}

/** Deep, strict inequality. */
export function assertNotEquals<T>(actual: T, expected: T, msg?: string): void {
  notDeepStrictEqual(actual, expected, msg);
}

/** Throws unless `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new AssertionError({
      message: msg ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
    });
  }
}

/** Throws unless `actual` matches `re`. */
export function assertMatch(actual: string, re: RegExp, msg?: string): void {
  if (!re.test(actual)) {
    throw new AssertionError({
      message: msg ?? `expected ${JSON.stringify(actual)} to match ${re}`,
    });
  }
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

function checkError(err: unknown, cls?: ErrorClass, includes?: string): Error {
  if (!(err instanceof Error)) {
    throw new AssertionError({ message: `expected an Error, got ${err}` });
  }
  if (cls && !(err instanceof cls)) {
    throw new AssertionError({
      message: `expected ${cls.name}, got ${(err as Error).name}: ${(err as Error).message}`,
    });
  }
  if (includes !== undefined && !err.message.includes(includes)) {
    throw new AssertionError({
      message: `expected error message to include ${JSON.stringify(includes)}, got ${
        JSON.stringify(err.message)
      }`,
    });
  }
  return err;
}

/** Expects `fn` to throw (an instance of `cls`, whose message includes `includes`). */
export function assertThrows(fn: () => unknown, cls?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (err) {
    return checkError(err, cls, includes);
  }
  throw new AssertionError({ message: "expected function to throw" });
}

/** Expects `fn` to reject (with an instance of `cls`, whose message includes `includes`). */
export async function assertRejects(
  fn: () => Promise<unknown>,
  cls?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    return checkError(err, cls, includes);
  }
  throw new AssertionError({ message: "expected promise to reject" });
}
