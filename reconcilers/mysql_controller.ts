/**
 * The MySQL controller as the per-cluster runtime runs it (runtime/controller.ts): it reconciles MySQL objects, owns
 * the children it labels, and watches PersistentVolumes (cluster-scoped, so they name their instance by labels) and
 * Namespaces (one being deleted accepts no new Job). The operator is composed with it in cli/run.ts.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { APP_LABELS, MANAGED_BY, NAME_LABEL, NAMESPACE_LABEL } from "../templates/labels.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { keyOf, type Resource, RESOURCES } from "../runtime/kube/resources.ts";
import type { Caches, Controller, ControllerEnv, OwnedResource } from "../runtime/controller.ts";
import { type ClusterContext, DEFAULT_RECONCILE_OPTIONS, type ReconcileOptions } from "./context.ts";
import { reconcileMySQL } from "./reconcile_mysql.ts";
import { errorPolicy } from "./error_policy.ts";
import { instanceSeries } from "./instance_metrics.ts";
import type { Gauge } from "../runtime/metrics.ts";
import { clusterCache, INSTANCE_LABEL, mysqlChildCache } from "./mysql_cache.ts";
import { passDue } from "./progress_due.ts";
import { childNames } from "../templates/names.ts";

/** Label every child carries; child informers watch only these objects. */
export const MANAGED_SELECTOR = `${APP_LABELS.managedBy}=${MANAGED_BY}`;

/** The key of a child's MySQL object: the child's namespace and its instance label. */
export function ownerKey(obj: KubeObject): string | undefined {
  const ns = obj.metadata?.namespace, instance = obj.metadata?.labels?.[INSTANCE_LABEL];
  return ns && instance ? `${ns}/${instance}` : undefined;
}

/** The key of a PersistentVolume's MySQL object: a cluster-scoped volume carries namespace and name as labels. */
export function volumeOwnerKeys(obj: KubeObject): string[] {
  const ns = obj.metadata?.labels?.[NAMESPACE_LABEL], name = obj.metadata?.labels?.[NAME_LABEL];
  return ns && name ? [`${ns}/${name}`] : [];
}

/**
 * Keys of a namespace's MySQL objects once it is being deleted: a namespace being deleted accepts no new Job, so its
 * instances keep their volumes instead of a final backup.
 */
export function terminatingNamespaceKeys(obj: KubeObject, caches: Caches): string[] {
  if (!obj.metadata?.deletionTimestamp || !obj.metadata.name) return [];
  return caches.list(MYSQL_RESOURCE, obj.metadata.name).map(keyOf);
}

function owned(resource: Resource): OwnedResource {
  return {
    resource,
    labelSelector: MANAGED_SELECTOR,
    cache: mysqlChildCache(resource.kind),
    mapToKey: ownerKey,
  };
}

/** The MySQL controller with these settings (defaults: {@linkcode DEFAULT_RECONCILE_OPTIONS}). */
export function mysqlController(options: Partial<ReconcileOptions> = {}): Controller<ClusterContext> {
  const settings: ReconcileOptions = { ...DEFAULT_RECONCILE_OPTIONS, ...options };
  return {
    // The MySQL objects themselves are cached whole but for managedFields: the operator reads all of them.
    for: { resource: MYSQL_RESOURCE },
    owns: [RESOURCES.deployment, RESOURCES.service, RESOURCES.pvc, RESOURCES.secret, RESOURCES.job].map(
      owned,
    ),
    watches: [
      {
        resource: RESOURCES.namespace,
        cache: mysqlChildCache("Namespace"),
        mapToKeys: terminatingNamespaceKeys,
      },
      {
        resource: RESOURCES.pv,
        labelSelector: MANAGED_SELECTOR,
        cache: mysqlChildCache("PersistentVolume"),
        mapToKeys: volumeOwnerKeys,
      },
    ],
    context: (env) => mysqlContext(env, settings),
    passDue: (obj, caches) => {
      const ns = obj.metadata?.namespace ?? "";
      const name = childNames({ namespace: ns, name: obj.metadata?.name ?? "" }).deployment;
      return passDue(obj, caches.get(RESOURCES.deployment, `${ns}/${name}`));
    },
    reconcile: reconcileMySQL,
    errorPolicy,
  };
}

/** The reconcilers' context of one cluster; outcomes feed the cluster's backup metrics. */
export function mysqlContext(env: ControllerEnv, options: ReconcileOptions): ClusterContext {
  const { cluster, metrics: m } = env;
  return {
    cluster,
    client: env.client,
    cache: clusterCache(env.caches),
    log: env.log,
    events: env.events,
    options,
    now: env.now,
    observe: {
      backupSucceeded: (obj, time) =>
        m.lastBackup.set(
          { cluster, namespace: obj.metadata.namespace, name: obj.metadata.name },
          Math.floor(time.getTime() / 1000),
        ),
      backupFailed: () => m.backupFailures.inc({ cluster }),
      volumeRetained: () => m.retainedVolumes.inc({ cluster }),
      instance: (obj, status) => {
        const labels = { cluster, namespace: obj.metadata.namespace, name: obj.metadata.name };
        const s = instanceSeries(obj, status, env.now());
        m.instanceStatus.setOnly(labels, { phase: s.phase, reason: s.reason }, 1); // the last phase and reason only
        const put = (g: Gauge, v: number | undefined) =>
          v === undefined ? g.delete(labels) : g.set(labels, v);
        put(m.lastBackup, s.lastBackupSeconds);
        if (s.lastBackupBytes === undefined) m.lastBackupSize.forget(labels);
        else m.lastBackupSize.setOnly(labels, { target: s.backupTarget }, s.lastBackupBytes);
        put(m.instanceCreated, s.createdSeconds);
        put(m.backupInterval, s.backupIntervalSeconds);
      },
      instanceGone: (namespace, name) => {
        const labels = { cluster, namespace, name };
        for (const g of m.instanceGauges()) g.forget(labels);
      },
    },
  };
}
