/**
 * The MySQL controller's side of the runtime's caches: what its child informers keep (runtime/projection.ts under
 * its {@linkcode MYSQL_CACHE_POLICY}), and the typed reads of {@linkcode ClusterCache} over the generic caches.
 *
 * @module
 */
import { MYSQL_RESOURCE } from "../api/resource.ts";
import { GROUP, KIND, type MySQL } from "../api/mysql.ts";
import { APP_LABELS } from "../templates/labels.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { RESOURCES } from "../runtime/kube/resources.ts";
import type { CacheOptions, Caches } from "../runtime/controller.ts";
import { type CachePolicy, childCacheOptions, type Domains, projections } from "../runtime/projection.ts";
import type { ClusterCache } from "./context.ts";

/** The label naming a child's MySQL object (in the child's namespace). */
export const INSTANCE_LABEL = APP_LABELS.instance;

/** Label and annotation domains the operator reads (and subdomains of them): its API group and the well-known labels. */
export const OUR_DOMAINS: Domains = { labels: [GROUP, "app.kubernetes.io"], annotations: [GROUP] };

/**
 * True when the object's controller is a MySQL object: the only Secrets whose data the operator compares (its
 * credentials Secret). Every other labelled Secret is cached from its metadata alone.
 */
export function controlledByMySQL(obj: KubeObject): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((
    r: { apiVersion?: string; kind?: string; controller?: boolean },
  ) => r.controller === true && r.kind === KIND && String(r.apiVersion).split("/")[0] === GROUP);
}

/** What the child caches keep: the operator's domains; Secrets read whole only when a MySQL object controls them. */
export const MYSQL_CACHE_POLICY: CachePolicy = { domains: OUR_DOMAINS, wholeSecret: controlledByMySQL };

/** Projections of the child kinds as the MySQL controller's caches keep them (drift compares against these). */
export const PROJECTIONS = projections(OUR_DOMAINS);

/**
 * Cache options of a watched kind other than MySQL. Children are selected by a label anyone can set: their caches
 * keep only what the operator reads, and lists come in small pages, so other people's objects cost next to nothing.
 */
export function mysqlChildCache(kind: string): CacheOptions {
  return childCacheOptions(kind, MYSQL_CACHE_POLICY);
}

const CHILDREN = {
  Deployment: RESOURCES.deployment,
  Service: RESOURCES.service,
  PersistentVolumeClaim: RESOURCES.pvc,
  Secret: RESOURCES.secret,
} as const;

/** The reconcilers' reads of one cluster's caches. */
export function clusterCache(caches: Caches): ClusterCache {
  return {
    mysql: (key) => caches.get(MYSQL_RESOURCE, key) as MySQL | undefined,
    child: (kind, key) => caches.get(CHILDREN[kind], key),
    pv: (name) => caches.get(RESOURCES.pv, name),
    pvs: () => caches.list(RESOURCES.pv),
    namespaceTerminating: (ns) => Boolean(caches.get(RESOURCES.namespace, ns)?.metadata?.deletionTimestamp),
    jobs: (ns, instance) =>
      caches.list(RESOURCES.job, ns).filter((j) => j.metadata?.labels?.[INSTANCE_LABEL] === instance),
  };
}
