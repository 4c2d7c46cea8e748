/**
 * Label and annotation keys of the children, and their label sets: the app.kubernetes.io recommended labels every
 * child carries, the pod selector, and the keys only some children carry. Everything that reads a label or an
 * annotation of a child uses these keys, so what is written and what is matched cannot drift apart.
 *
 * @module
 */
import { GROUP } from "../api/mysql.ts";
import type { ObjectRef } from "./names.ts";

/** app.kubernetes.io recommended label keys. */
export const APP_LABELS = {
  /** Always `mysql`. */
  name: "app.kubernetes.io/name",
  /** Name of the owning MySQL object (what the Job cache selects by). */
  instance: "app.kubernetes.io/instance",
  /** `database` (mysqld, its Service and data), `backup` (backup Jobs and volume) or `restore`. */
  component: "app.kubernetes.io/component",
  /** Always {@linkcode MANAGED_BY}: the child informers select by it. */
  managedBy: "app.kubernetes.io/managed-by",
} as const;

/** Value of `app.kubernetes.io/managed-by` on every child. */
export const MANAGED_BY = "mysql-operator";

function recommended(ref: ObjectRef, component: string): Record<string, string> {
  return { [APP_LABELS.name]: "mysql", [APP_LABELS.instance]: ref.name, [APP_LABELS.component]: component };
}

/** Labels every child carries (app.kubernetes.io recommended labels). */
export function childLabels(ref: ObjectRef, component: string): Record<string, string> {
  return { ...recommended(ref, component), [APP_LABELS.managedBy]: MANAGED_BY };
}

/** Labels that select the mysqld pod of an instance (stable: a Deployment selector is immutable). */
export function selectorLabels(ref: ObjectRef): Record<string, string> {
  return recommended(ref, "database");
}

/** Namespace of the owning MySQL object, on PersistentVolumes (cluster-scoped, so they carry no namespace). */
export const NAMESPACE_LABEL = `${GROUP}/namespace`;
/** Name of the owning MySQL object, on PersistentVolumes. */
export const NAME_LABEL = `${GROUP}/name`;
/** Why a backup Job runs: `final`, `scheduled` or `manual`. */
export const BACKUP_REASON_LABEL = `${GROUP}/backup-reason`;

/**
 * Labels of a PersistentVolume of an instance: `childLabels` plus namespace and name, so the operator finds the
 * PVs of one object by label (the PV names carry only a hash of them).
 */
export function pvLabels(ref: ObjectRef, component: string): Record<string, string> {
  return { ...childLabels(ref, component), [NAMESPACE_LABEL]: ref.namespace, [NAME_LABEL]: ref.name };
}

/**
 * On children without an owner reference (claims and volumes): the `namespace/name` of the MySQL object they belong
 * to. Labels alone prove nothing (anyone may set them, a GitOps tool may rewrite them); this annotation is what the
 * operator checks before it writes or deletes such a child.
 */
export const INSTANCE_ANNOTATION = `${GROUP}/instance`;
/** On the data claim and volume: UID of the MySQL object whose data they hold. */
export const OWNER_UID_ANNOTATION = `${GROUP}/owner-uid`;
/**
 * On a data volume the operator let go without a final backup (its namespace was deleted): when, and why. A MySQL
 * object re-created with the same namespace and name takes this volume back instead of starting empty.
 */
export const RETAINED_ANNOTATION = `${GROUP}/retained`;

/** Ownership annotations of an un-owned child; `withUid` for data claims and volumes (one incarnation's data). */
export function ownershipAnnotations(ref: ObjectRef, withUid: boolean): Record<string, string> {
  const a: Record<string, string> = { [INSTANCE_ANNOTATION]: `${ref.namespace}/${ref.name}` };
  if (withUid && ref.uid) a[OWNER_UID_ANNOTATION] = ref.uid;
  return a;
}
