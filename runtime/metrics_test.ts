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

Deno.test("metrics: a cluster's per-instance series go when the process stops leading it; other clusters' stay", () => {
  const m = new OperatorMetrics();
  for (const cluster of ["a", "b"]) {
    const labels = { cluster, namespace: "n", name: "db,x" };
    m.lastBackup.set(labels, 1);
    m.instanceStatus.set({ ...labels, phase: "Ready", reason: "Available" }, 1);
    m.instanceCreated.set(labels, 1);
    m.backupInterval.set(labels, 60);
    m.lastBackupSize.setOnly(labels, { target: "store" }, 4096);
  }
  m.leader.set({ cluster: "a" }, 1);
  m.forgetInstances("a");
  const text = m.render();
  for (
    const name of [
      "last_successful_backup_timestamp_seconds",
      "last_successful_backup_size_bytes",
      "instance_status",
      "backup_interval_seconds",
    ]
  ) {
    assertEquals(text.includes(`mysql_operator_${name}{cluster="a"`), false, name);
    assertStringIncludes(text, `mysql_operator_${name}{cluster="b"`);
  }
  // Not per instance: kept.
  assertStringIncludes(text, 'mysql_operator_lease_held{cluster="a"} 1');
  // A label value with a comma is matched whole, not split.
  m.instanceStatus.deleteMatching({ name: "db" });
  assertStringIncludes(m.render(), 'mysql_operator_instance_status{cluster="b"');
});

Deno.test("metrics: setOnly keeps one series per owner as its other labels change; forgetting clears it", () => {
  const m = new OperatorMetrics();
  const db = { cluster: "a", namespace: "n", name: "db" };
  m.instanceStatus.setOnly(db, { phase: "Provisioning", reason: "MySQLNotReady" }, 1);
  m.instanceStatus.setOnly({ ...db, name: "other" }, { phase: "Ready", reason: "Available" }, 1);
  m.instanceStatus.setOnly(db, { phase: "Ready", reason: "Available" }, 1);
  const lines = () => m.render().split("\n").filter((l) => l.startsWith("mysql_operator_instance_status{"));
  assertEquals(lines().length, 2, lines().join("\n"));
  assertEquals(m.instanceStatus.get({ ...db, phase: "Provisioning", reason: "MySQLNotReady" }), undefined);
  m.forgetInstances("a");
  assertEquals(lines(), []);
  // After forgetting, the owner's next series is the only one again.
  m.instanceStatus.setOnly(db, { phase: "Deleting", reason: "FinalBackupRunning" }, 1);
  assertEquals(lines().length, 1);
});

Deno.test("metrics: forget drops an owner's series of every kind, and no other owner's", () => {
  const m = new OperatorMetrics();
  const db = { cluster: "a", namespace: "n", name: "db" }, other = { ...db, name: "db2" };
  for (const owner of [db, other]) {
    m.instanceStatus.setOnly(owner, { phase: "Ready", reason: "Available" }, 1);
    m.lastBackupSize.setOnly(owner, { target: "volume" }, 10);
    m.lastBackup.set(owner, 5);
  }
  for (const g of m.instanceGauges()) g.forget(db);
  const text = m.render();
  for (
    const name of [
      "instance_status",
      "last_successful_backup_size_bytes",
      "last_successful_backup_timestamp_seconds",
    ]
  ) {
    assertEquals(text.includes(`mysql_operator_${name}{cluster="a",name="db",`), false, name);
    assertStringIncludes(text, `mysql_operator_${name}{cluster="a",name="db2",`);
  }
  // Forgetting an owner that has nothing, or twice, is no error; its next series is its only one.
  m.instanceStatus.forget(db);
  m.instanceStatus.setOnly(db, { phase: "Deleting", reason: "FinalBackupRunning" }, 1);
  assertEquals(m.instanceStatus.get({ ...db, phase: "Deleting", reason: "FinalBackupRunning" }), 1);
});
