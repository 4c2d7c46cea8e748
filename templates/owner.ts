/**
 * Identity, owner reference and metadata of namespaced children.
 *
 * @module
 */
import { API_VERSION, KIND, type MySQL } from "../api/mysql.ts";
import type { ObjectRef } from "./names.ts";
import type { ObjectMeta, OwnerReference } from "./k8s_types.ts";

/** The parts of a MySQL object that child names and labels derive from. */
export function objectRef(mysql: MySQL): ObjectRef {
  return { namespace: mysql.metadata.namespace, name: mysql.metadata.name, uid: mysql.metadata.uid };
}

/** The controller reference every owned child carries: garbage collection removes it with the MySQL object. */
export function ownerReference(mysql: MySQL): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: mysql.metadata.name,
    uid: mysql.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * Metadata of a namespaced child in the object's own namespace. `owned: false` leaves the owner reference out
 * (the backup PVC, which must outlive the object).
 */
export function childMeta(
  mysql: MySQL,
  name: string,
  labels: Record<string, string>,
  owned = true,
): ObjectMeta {
  const meta: ObjectMeta = { name, namespace: mysql.metadata.namespace, labels };
  if (owned) meta.ownerReferences = [ownerReference(mysql)];
  return meta;
}
