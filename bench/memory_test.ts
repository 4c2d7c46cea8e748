import { assertEquals } from "../tests/_assert.ts";
import { MemorySampler, parseMemory, splitOf } from "./memory.ts";
import { OperatorMetrics } from "../runtime/metrics.ts";

Deno.test("parseMemory reads the operator's own /metrics; a missing series is no reading", () => {
  const r = parseMemory(new OperatorMetrics().render());
  assertEquals(r !== undefined && r.rss > r.heapUsed && r.heapTotal >= r.heapUsed && r.external > 0, true);
  assertEquals(parseMemory("process_resident_memory_bytes 1\n"), undefined);
});

Deno.test("splitOf: the rest is RSS less the reserved heap and external memory, never negative", () => {
  const M = 1024 * 1024;
  assertEquals(splitOf({ rss: 200 * M, heapTotal: 80 * M, heapUsed: 50 * M, external: 20 * M }).restMB, 100);
  assertEquals(splitOf({ rss: 10 * M, heapTotal: 80 * M, heapUsed: 50 * M, external: 20 * M }).restMB, 0);
});

Deno.test("MemorySampler: the split at the highest RSS, and each part's own highest", async () => {
  const M = 1024 * 1024;
  const texts = [
    [100, 40, 30, 5],
    [150, 60, 20, 10],
    [120, 90, 80, 30],
  ].map(([rss, total, used, ext]) =>
    `process_resident_memory_bytes ${rss * M}\nmysql_operator_heap_total_bytes ${total * M}\n` +
    `mysql_operator_heap_used_bytes ${used * M}\nmysql_operator_external_memory_bytes ${ext * M}\n`
  );
  let i = 0;
  const s = new MemorySampler(() => Promise.resolve(texts[i++] ?? "gone"), 60_000);
  for (let k = 0; k < 4; k++) await s.sample();
  const r = s.stop()!;
  assertEquals(r.samples, 3);
  assertEquals([r.atPeak.rssMB, r.atPeak.heapTotalMB, r.atPeak.restMB], [150, 60, 80]);
  assertEquals([r.max.rssMB, r.max.heapTotalMB, r.max.externalMB], [150, 90, 30]);
});
