/**
 * The API resources the operator touches, and their REST paths.
 *
 * @module
 */

/** An API resource. */
export interface Resource {
  /** API group ("" for core). */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

/** Every resource the operator reads or writes (RBAC in deploy/ mirrors this list). */
export const RESOURCES = {
  deployment: { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
  service: { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true },
  pvc: {
    group: "",
    version: "v1",
    plural: "persistentvolumeclaims",
    kind: "PersistentVolumeClaim",
    namespaced: true,
  },
  pv: { group: "", version: "v1", plural: "persistentvolumes", kind: "PersistentVolume", namespaced: false },
  secret: { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true },
  job: { group: "batch", version: "v1", plural: "jobs", kind: "Job", namespaced: true },
  pod: { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
  namespace: { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
  event: { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true },
  lease: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true },
} as const satisfies Record<string, Resource>;

/** `apiVersion` of a resource. */
export function apiVersionOf(r: Resource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Collection path (all namespaces when `namespace` is undefined for a namespaced resource). */
export function collectionPath(r: Resource, namespace?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespaced && namespace) return `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`;
  return `${base}/${r.plural}`;
}

/** Path of one object. */
export function objectPath(r: Resource, namespace: string | undefined, name: string): string {
  return `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
}

/** Cache key of a namespaced object (`ns/name`) or a cluster-scoped one (`name`). */
export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name}` : `${obj.metadata?.name}`;
}

/**
 * The resource a request path names, with its subresource: `/apis/apps/v1/namespaces/n/deployments/x` →
 * `deployments`, `…/mysqls/x/status` → `mysqls/status`, `/api/v1/namespaces/n` → `namespaces`; "" when the path is
 * not a resource path (discovery, /version).
 */
export function resourceOfPath(path: string): string {
  const parts = path.split("?")[0].split("/").filter(Boolean);
  const rest = parts[0] === "api" ? parts.slice(2) : parts[0] === "apis" ? parts.slice(3) : [];
  const inNs = rest[0] === "namespaces" && rest.length > 2 ? rest.slice(2) : rest;
  if (!inNs.length) return "";
  return inNs.length > 2 ? `${inNs[0]}/${inNs[2]}` : inNs[0];
}
