import { MYSQL_RESOURCE } from "../api/resource.ts";
import { assert, assertEquals } from "../tests/_assert.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { type Resource, RESOURCES } from "../runtime/kube/resources.ts";
import type { Caches, ControllerEnv } from "../runtime/controller.ts";
import { CHILD_PAGE_SIZE } from "../runtime/projection.ts";
import { OperatorMetrics } from "../runtime/metrics.ts";
import { mysqlObject } from "../templates/testing.ts";
import { MANAGED_SELECTOR, mysqlController } from "./mysql_controller.ts";
import { controlledByMySQL, OUR_DOMAINS } from "./mysql_cache.ts";
import { DEFAULT_RECONCILE_OPTIONS } from "./context.ts";
import { reconcileMySQL } from "./reconcile_mysql.ts";
import { errorPolicy } from "./error_policy.ts";

/** Caches over fixed objects, keyed as the runtime keys them. */
function fakeCaches(objects: Array<[Resource, KubeObject]>): Caches {
  const of = (r: Resource) => objects.filter(([res]) => res === r).map(([, o]) => o);
  const key = (o: KubeObject) =>
    o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata?.name;
  return {
    get: (r, k) => of(r).find((o) => key(o) === k),
    list: (r, ns) => of(r).filter((o) => ns === undefined || o.metadata?.namespace === ns),
  };
}

const meta = (m: KubeObject["metadata"]): KubeObject => ({ metadata: m });

Deno.test("the MySQL controller watches what the operator always watched, with the same selectors and caches", () => {
  const c = mysqlController();
  assertEquals(
    c.for,
    { resource: MYSQL_RESOURCE },
    "MySQL objects: every one, kept whole but managedFields",
  );
  assertEquals(c.owns.map((o) => [o.resource, o.labelSelector]), [
    [RESOURCES.deployment, MANAGED_SELECTOR],
    [RESOURCES.service, MANAGED_SELECTOR],
    [RESOURCES.pvc, MANAGED_SELECTOR],
    [RESOURCES.secret, MANAGED_SELECTOR],
    [RESOURCES.job, MANAGED_SELECTOR],
  ]);
  assertEquals(c.watches.map((w) => [w.resource, w.labelSelector]), [
    [RESOURCES.namespace, undefined],
    [RESOURCES.pv, MANAGED_SELECTOR],
  ]);
  assertEquals(MANAGED_SELECTOR, "app.kubernetes.io/managed-by=mysql-operator");
  for (const w of [...c.owns, ...c.watches]) {
    assertEquals(w.cache?.pageSize, CHILD_PAGE_SIZE, w.resource.plural);
    assert(w.cache?.project, `${w.resource.plural} projected`);
    assertEquals(
      w.cache?.metadataOnly?.whole,
      w.resource === RESOURCES.secret ? controlledByMySQL : undefined,
    );
  }
  assertEquals(c.reconcile, reconcileMySQL);
  assertEquals(c.errorPolicy, errorPolicy);
});

Deno.test("the caches keep the operator's domains; only Secrets a MySQL object controls are read whole", () => {
  assertEquals(OUR_DOMAINS, {
    labels: ["otus.homework", "app.kubernetes.io"],
    annotations: ["otus.homework"],
  });
  const ref = { apiVersion: "otus.homework/v1", kind: "MySQL", name: "m", uid: "u", controller: true };
  assertEquals(controlledByMySQL(meta({ ownerReferences: [ref] })), true);
  assertEquals(controlledByMySQL(meta({ ownerReferences: [{ ...ref, controller: false }] })), false);
  assertEquals(
    controlledByMySQL(meta({ ownerReferences: [{ ...ref, apiVersion: "example.com/v1" }] })),
    false,
  );
  assertEquals(controlledByMySQL(meta({})), false);
  const project = mysqlController().owns.find((o) => o.resource === RESOURCES.service)!.cache!.project!;
  assertEquals(
    project(meta({ name: "s", labels: { "otus.homework/name": "m", team: "x" } })).metadata?.labels,
    { "otus.homework/name": "m" },
  );
});

Deno.test("objects map to their MySQL object's key: children by label, volumes by labels, namespaces by deletion", () => {
  const c = mysqlController();
  const child = c.owns[0].mapToKey;
  assertEquals(
    child(meta({ namespace: "ns", name: "m", labels: { "app.kubernetes.io/instance": "m" } })),
    "ns/m",
  );
  assertEquals(child(meta({ namespace: "ns", name: "x" })), undefined, "no instance label: no key");
  const [namespaces, volumes] = c.watches;
  const caches = fakeCaches([
    [MYSQL_RESOURCE, meta({ namespace: "a", name: "m1" })],
    [MYSQL_RESOURCE, meta({ namespace: "a", name: "m2" })],
    [MYSQL_RESOURCE, meta({ namespace: "b", name: "m3" })],
  ]);
  assertEquals(namespaces.mapToKeys(meta({ name: "a" }), caches), [], "a live namespace changes nothing");
  assertEquals(namespaces.mapToKeys(meta({ name: "a", deletionTimestamp: "2026-01-01T00:00:00Z" }), caches), [
    "a/m1",
    "a/m2",
  ]);
  const pvLabels = { "otus.homework/namespace": "a", "otus.homework/name": "m1" };
  assertEquals(volumes.mapToKeys(meta({ name: "pv", labels: pvLabels }), caches), ["a/m1"]);
  assertEquals(volumes.mapToKeys(meta({ name: "pv", labels: { "otus.homework/name": "m1" } }), caches), []);
});

Deno.test("the context: cluster caches typed for the reconcilers, backup outcomes in the cluster's metrics", () => {
  const obj = mysqlObject({ namespace: "a", name: "m" });
  const job = (name: string, instance: string) =>
    meta({ namespace: "a", name, labels: { "app.kubernetes.io/instance": instance } });
  const caches = fakeCaches([
    [MYSQL_RESOURCE, obj as unknown as KubeObject],
    [RESOURCES.namespace, meta({ name: "a", deletionTimestamp: "2026-01-01T00:00:00Z" })],
    [RESOURCES.job, job("m-backup-1", "m")],
    [RESOURCES.job, job("other-backup-1", "other")],
    [RESOURCES.pv, meta({ name: "pv-1" })],
  ]);
  const metrics = new OperatorMetrics();
  const env = { cluster: "c1", caches, metrics, now: () => new Date(0) } as unknown as ControllerEnv;
  const ctx = mysqlController({ resyncMs: 60_000 }).context(env);
  assertEquals(ctx.options, { ...DEFAULT_RECONCILE_OPTIONS, resyncMs: 60_000 });
  assertEquals(ctx.cluster, "c1");
  assertEquals(ctx.cache.mysql("a/m"), obj);
  assertEquals(ctx.cache.namespaceTerminating("a"), true);
  assertEquals(ctx.cache.namespaceTerminating("b"), false);
  assertEquals(ctx.cache.jobs("a", "m").map((j) => j.metadata?.name), ["m-backup-1"]);
  assertEquals(ctx.cache.pvs().length, 1);
  assertEquals(ctx.cache.pv("pv-1")?.metadata?.name, "pv-1");
  ctx.observe?.backupSucceeded?.(obj, new Date(1_700_000_000_500));
  ctx.observe?.backupFailed?.(obj);
  ctx.observe?.volumeRetained?.(obj);
  assertEquals(metrics.lastBackup.get({ cluster: "c1", namespace: "a", name: "m" }), 1_700_000_000);
  assertEquals(metrics.backupFailures.get({ cluster: "c1" }), 1);
  assertEquals(metrics.retainedVolumes.get({ cluster: "c1" }), 1);
});
