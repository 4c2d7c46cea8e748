import { deepStrictEqual, equal } from "node:assert/strict";
import { afterConnectionFailure, MAX_RESTORE_ATTEMPTS, restoreRetryDelayMs } from "./restore.ts";

Deno.test("restore retries after a connection failure back off: 10 s doubling, at most 5 minutes", () => {
  deepStrictEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 20].map(restoreRetryDelayMs),
    [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000, 300_000],
  );
});

Deno.test("what to do after the n-th restore attempt could not connect (table of states)", () => {
  const cases: [
    attempt: number,
    sinceFailedMs: number,
    expected: ReturnType<typeof afterConnectionFailure>,
  ][] = [
    [1, 0, "wait"],
    [1, 9_999, "wait"],
    [1, 10_000, "retry"],
    [2, 19_999, "wait"],
    [2, 20_000, "retry"],
    [7, 299_999, "wait"],
    [7, 300_000, "retry"],
    [MAX_RESTORE_ATTEMPTS, 0, "giveUp"],
    [MAX_RESTORE_ATTEMPTS, 10_000_000, "giveUp"],
    [MAX_RESTORE_ATTEMPTS + 5, 0, "giveUp"],
  ];
  for (const [attempt, since, expected] of cases) {
    equal(
      afterConnectionFailure(attempt, since),
      expected,
      `attempt ${attempt}, ${since} ms after it failed`,
    );
  }
});

Deno.test("the attempts before giving up span about a quarter of an hour, not forever", () => {
  let total = 0;
  for (let a = 1; a < MAX_RESTORE_ATTEMPTS; a++) total += restoreRetryDelayMs(a);
  equal(total, 910_000);
});
