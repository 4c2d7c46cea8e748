/**
 * /metrics of a running operator (same entry point and permissions as the binary), scraped and parsed: the set of
 * metrics the issue asks for, each labelled by cluster, and numbers that match what happened: N objects made Ready
 * are at least N successful reconciles; a successful backup sets the instance's last-backup timestamp to the
 * recorded backup time; a failed backup (a `fail.invalid/` image fails its Job on kwok nodes) counts one failure
 * and leaves that timestamp alone.
 */
import { assert, assertEquals } from "./_assert.ts";
import { freshNamespace, kubectl, waitFor } from "./_clusters.ts";
import { clustersWithCRD, courseObject, kubectlApply, waitCondition } from "./_k8s.ts";
import { type Exposition, parseMetrics, samples, total } from "./_metrics.ts";
import { startOperatorProcess } from "./_operator.ts";
import { ANNOTATIONS } from "../api/mysql.ts";

const { kubeconfig, contexts } = await clustersWithCRD();
const ctx = contexts[1];

/** Every metric family the operator must export, with its type. */
const FAMILIES: Record<string, string> = {
  mysql_operator_reconciles_total: "counter",
  mysql_operator_reconcile_errors_total: "counter",
  mysql_operator_reconcile_duration_seconds: "histogram",
  mysql_operator_queue_depth: "gauge",
  mysql_operator_oldest_pass_due_seconds: "gauge",
  mysql_operator_watch_restarts_total: "counter",
  mysql_operator_api_requests_total: "counter",
  mysql_operator_last_successful_backup_timestamp_seconds: "gauge",
  mysql_operator_backup_failures_total: "counter",
  mysql_operator_retained_volumes_total: "counter",
  mysql_operator_lease_held: "gauge",
  mysql_operator_lease_holder_info: "gauge",
  mysql_operator_cluster_up: "gauge",
  mysql_operator_cluster_synced: "gauge",
  process_resident_memory_bytes: "gauge",
  mysql_operator_heap_used_bytes: "gauge",
  mysql_operator_heap_total_bytes: "gauge",
  mysql_operator_external_memory_bytes: "gauge",
};

/** Families about the whole process (memory): the only ones without a cluster label. */
const PROCESS_WIDE = new Set([
  "process_resident_memory_bytes",
  "mysql_operator_heap_used_bytes",
  "mysql_operator_heap_total_bytes",
  "mysql_operator_external_memory_bytes",
]);

Deno.test("/metrics: the full set, labelled by cluster, with numbers that match what happened", async () => {
  const ns = await freshNamespace(ctx, "metrics");
  const op = await startOperatorProcess([
    "--kubeconfig",
    kubeconfig,
    "--context",
    ctx,
    "--namespace",
    ns.name,
    "--lease-duration-seconds",
    "4",
  ]);
  const scrape = async (): Promise<Exposition> => {
    const res = await op.http("/metrics");
    assertEquals(res.status, 200);
    return parseMetrics(res.body);
  };
  const cluster = { cluster: ctx };
  try {
    const names = ["alpha", "beta", "gamma"];
    for (const name of names) await kubectlApply(ctx, await courseObject(ns.name, {}, name));
    const ready = await Promise.all(names.map((n) => waitCondition(ctx, ns.name, n, "Ready", "True")));

    let m = await scrape();
    for (const [family, type] of Object.entries(FAMILIES)) {
      assertEquals(m.types.get(family), type, `# TYPE ${family}`);
      assert(m.help.get(family), `# HELP ${family}`);
    }
    for (const s of m.samples) {
      if (PROCESS_WIDE.has(s.name)) assert(s.value > 0, `${s.name} ${s.value}`);
      else assertEquals(s.labels.cluster, ctx, `cluster label on ${s.name}`);
    }
    const success = total(m, "mysql_operator_reconciles_total", { ...cluster, result: "success" });
    assert(
      success >= names.length,
      `${names.length} objects Ready: at least as many successful reconciles (${success})`,
    );
    assertEquals(
      total(m, "mysql_operator_reconcile_errors_total", cluster),
      total(m, "mysql_operator_reconciles_total", { ...cluster, result: "error" }),
      "errors counted once in each",
    );
    // The histogram is consistent: one observation per reconcile, cumulative buckets, +Inf = count.
    const count = total(m, "mysql_operator_reconcile_duration_seconds_count", cluster);
    assertEquals(count, total(m, "mysql_operator_reconciles_total", cluster));
    const buckets = samples(m, "mysql_operator_reconcile_duration_seconds_bucket", cluster);
    for (let i = 1; i < buckets.length; i++) {
      assert(buckets[i].value >= buckets[i - 1].value, "cumulative buckets");
    }
    assertEquals(buckets.find((b) => b.labels.le === "+Inf")?.value, count);
    assert(total(m, "mysql_operator_reconcile_duration_seconds_sum", cluster) > 0);
    // API requests by verb and code: the informers listed and watched, the reconciles created children (POST:
    // never an apply onto a name someone else may hold) and patched status.
    for (const verb of ["list", "watch", "create", "patch"]) {
      assert(
        total(m, "mysql_operator_api_requests_total", { ...cluster, verb }) > 0,
        `requests with verb ${verb}`,
      );
    }
    assert(
      samples(m, "mysql_operator_api_requests_total", cluster).every((s) =>
        /^\d{3}$|^0$/.test(s.labels.code)
      ),
      "codes are HTTP status codes",
    );
    assert(
      total(m, "mysql_operator_api_requests_total", { ...cluster, verb: "create", code: "201" }) >=
        names.length * 4,
      "children created for every object",
    );
    assertEquals(total(m, "mysql_operator_lease_held", cluster), 1);
    const holders = samples(m, "mysql_operator_lease_holder_info", cluster).filter((s) => s.value === 1);
    assertEquals(holders.length, 1, "one lease holder");
    assertEquals(total(m, "mysql_operator_cluster_up", cluster), 1);
    assertEquals(total(m, "mysql_operator_cluster_synced", cluster), 1);
    await waitFor(
      "an empty queue",
      async () => total(await scrape(), "mysql_operator_queue_depth", cluster) === 0,
    );
    // Every object Ready: none is owed a pass (the check runs every 5 s over the cache, so wait for its series).
    await waitFor("the not-progressing gauge of the cluster at 0", async () => {
      const s = samples(await scrape(), "mysql_operator_oldest_pass_due_seconds", cluster);
      return s.length === 1 && s[0].value === 0;
    });
    assertEquals(total(m, "mysql_operator_backup_failures_total", cluster), 0);
    assertEquals(samples(m, "mysql_operator_last_successful_backup_timestamp_seconds", cluster), []);

    // One successful backup: its time is the instance's timestamp.
    const [first] = names;
    await kubectl(ctx, "annotate", "mysql", first, "-n", ns.name, `${ANNOTATIONS.backupNow}=1`);
    const backedUp = await waitCondition(ctx, ns.name, first, "BackupReady", "True", "BackupSucceeded");
    const instance = { ...cluster, namespace: ns.name, name: first };
    const stamp = Math.floor(Date.parse(backedUp.status!.lastBackupTime!) / 1000);
    m = await scrape();
    assertEquals(total(m, "mysql_operator_last_successful_backup_timestamp_seconds", instance), stamp);
    assertEquals(samples(m, "mysql_operator_last_successful_backup_timestamp_seconds", cluster).length, 1);
    // Its size as recorded in status (a simulated Job reports 0 bytes), labelled with where backups go.
    assertEquals(backedUp.status?.lastBackupBytes, 0);
    assertEquals(
      samples(m, "mysql_operator_last_successful_backup_size_bytes", cluster).map((
        s,
      ) => [s.labels.target, s.value]),
      [["volume", 0]],
    );

    // One failed backup: counted once; the last successful backup's timestamp stays.
    await kubectl(
      ctx,
      "patch",
      "mysql",
      first,
      "-n",
      ns.name,
      "--type=merge",
      "-p",
      JSON.stringify({
        metadata: { annotations: { [ANNOTATIONS.backupNow]: "2" } },
        spec: { backup: { image: "fail.invalid/mysql:5.7" } },
      }),
    );
    await waitCondition(ctx, ns.name, first, "BackupReady", "False", "BackupFailed", 90_000);
    m = await scrape();
    assertEquals(total(m, "mysql_operator_backup_failures_total", cluster), 1);
    assertEquals(total(m, "mysql_operator_last_successful_backup_timestamp_seconds", instance), stamp);
    assert(ready.every((o) => o.status?.phase === "Ready"));
  } catch (err) {
    console.error(`--- operator log ---\n${(await op.logs()).slice(-20_000)}`);
    throw err;
  } finally {
    await op.stop();
    await ns.cleanup();
  }
});
