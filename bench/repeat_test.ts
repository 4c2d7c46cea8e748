import { assertEquals } from "../tests/_assert.ts";
import { spread, summarizeRepeats } from "./repeat.ts";
import type { BenchResult } from "./report.ts";

Deno.test("spread: min, median and max of the defined values", () => {
  assertEquals(spread([1.3, undefined, 1.1, 3.5]), {
    min: 1.1,
    median: 1.3,
    max: 3.5,
    values: [1.3, undefined, 1.1, 3.5],
  });
  assertEquals(spread([1, 2]).median, 1.5);
  assertEquals(spread([undefined]).median, undefined);
});

Deno.test("summarizeRepeats compares each profile's ratios across runs, and the slowest object to the lower bound", () => {
  const run = (total: number, max: number) =>
    ({
      profiles: [{
        profile: "raised",
        ratio: { total, p50: 1, p99: 1, unstalled: 1.1 },
        operator: { latency: { max } },
        lowerBound: { totalMs: 100_000 },
      }],
    }) as unknown as BenchResult;
  const s = summarizeRepeats([run(3.55, 536_900), run(1.15, 150_000), run(1.11, 110_000)]);
  assertEquals([s.raised.total.min, s.raised.total.median, s.raised.total.max], [1.11, 1.15, 3.55]);
  assertEquals(s.raised.maxOverLowerBound.max, 5.37);
  assertEquals(s.raised.unstalled.median, 1.1);
});
