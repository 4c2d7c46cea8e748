/**
 * Minimal assertions (JSR's @std/assert cannot be reached from these machines): node:assert's deep equality with
 * messages in the style of std.
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Throws when `cond` is falsy. */
export function assert(cond: unknown, msg = "assertion failed"): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Deep, strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, msg?: string): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

/** Deep, strict inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, msg?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, msg);
}

/** The string matches the expression. */
export function assertMatch(actual: string, expected: RegExp, msg?: string): void {
  if (!expected.test(actual)) {
    throw new Error(msg ?? `expected ${JSON.stringify(actual)} to match ${expected}`);
  }
}

/** The string contains the part. */
export function assertStringIncludes(actual: string, expected: string, msg?: string): void {
  if (!actual.includes(expected)) {
    throw new Error(msg ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`);
  }
}

/** `fn` throws; returns the error. */
export function assertThrows(fn: () => unknown, msgIncludes?: string): Error {
  try {
    fn();
  } catch (err) {
    if (msgIncludes && !(err as Error).message.includes(msgIncludes)) {
      throw new Error(`error ${JSON.stringify((err as Error).message)} lacks ${JSON.stringify(msgIncludes)}`);
    }
    return err as Error;
  }
  throw new Error("expected a throw");
}

/** The promise rejects; returns the error. */
export async function assertRejects(fn: () => Promise<unknown>, msgIncludes?: string): Promise<Error> {
  try {
    await fn();
  } catch (err) {
    if (msgIncludes && !(err as Error).message.includes(msgIncludes)) {
      throw new Error(`error ${JSON.stringify((err as Error).message)} lacks ${JSON.stringify(msgIncludes)}`);
    }
    return err as Error;
  }
  throw new Error("expected a rejection");
}
