import { assertEquals } from "../tests/_assert.ts";
import { percentile, ratio, summarize } from "./stats.ts";

Deno.test("percentile: nearest rank returns measured values", () => {
  const v = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
  assertEquals(percentile(v, 50), 5);
  assertEquals(percentile(v, 90), 9);
  assertEquals(percentile(v, 99), 10);
  assertEquals(percentile(v, 100), 10);
  assertEquals(percentile(v, 0), 1);
  assertEquals(Number.isNaN(percentile([], 50)), true);
});

Deno.test("summarize and ratio", () => {
  const s = summarize([100, 200, 300, 400]);
  assertEquals([s.count, s.p50, s.p99, s.max, s.mean], [4, 200, 400, 400, 250]);
  assertEquals(ratio(12, 10), 1.2);
  assertEquals(ratio(1, 0), undefined);
});
