import { assertEquals, assertStringIncludes } from "../tests/_assert.ts";
import { OperatorMetrics } from "./metrics.ts";

Deno.test("metrics render in Prometheus text format with labels", () => {
  const m = new OperatorMetrics();
  m.reconciles.inc({ cluster: "a", result: "success" });
  m.reconciles.inc({ cluster: "a", result: "success" });
  m.reconcileDuration.observe({ cluster: "a" }, 0.02);
  m.lastBackup.set({ cluster: "a", namespace: "n", name: 'x"y' }, 1700000000);
  const text = m.render();
  assertStringIncludes(text, "# TYPE mysql_operator_reconciles_total counter");
  assertStringIncludes(text, 'mysql_operator_reconciles_total{cluster="a",result="success"} 2');
  assertStringIncludes(text, 'mysql_operator_reconcile_duration_seconds_bucket{cluster="a",le="0.025"} 1');
  assertStringIncludes(text, 'mysql_operator_reconcile_duration_seconds_bucket{cluster="a",le="0.01"} 0');
  assertStringIncludes(text, 'mysql_operator_reconcile_duration_seconds_count{cluster="a"} 1');
  assertStringIncludes(text, 'name="x\\"y"');
  assertEquals(m.reconciles.get({ result: "success", cluster: "a" }), 2);
});

Deno.test("metrics: the process's resident memory and V8 heap, read at each scrape, without labels", () => {
  const text = new OperatorMetrics().render();
  const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\d+)$`, "m"))?.[1]);
  const rss = value("process_resident_memory_bytes");
  const heap = value("mysql_operator_heap_used_bytes");
  assertEquals(rss > 10 * 2 ** 20, true, `rss ${rss}`);
  assertEquals(heap > 0 && heap < rss, true, `heap ${heap}, rss ${rss}`);
  assertStringIncludes(text, "# TYPE process_resident_memory_bytes gauge");
});
