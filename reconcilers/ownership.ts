/**
 * Whose is this object? The operator writes or deletes a child only when it can prove the child is this MySQL
 * object's: labels prove nothing (anyone may set them, a GitOps tool may rewrite them) and a cache miss proves
 * nothing (the child informers select by a label). These functions are pure; reconcilers/observe.ts reads the
 * objects they judge.
 *
 * @module
 */
import type { MySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import {
  childLabels,
  INSTANCE_ANNOTATION,
  NAME_LABEL,
  NAMESPACE_LABEL,
  OWNER_UID_ANNOTATION,
} from "../templates/labels.ts";

/** How a child relates to a MySQL object. */
export type Ownership =
  /** No object has the name. */
  | "absent"
  /** Provably this object's. */
  | "ours"
  /**
   * Made by an operator version before ownership annotations: it carries every label the operator sets and
   * nothing that names another owner. It is ours once the annotations are added (adoption).
   */
  | "legacy"
  /** Someone else's: never written, adopted or deleted. */
  | "foreign";

/** The children, by how ownership is proven. */
export type ChildRole =
  /** Deployment, Service, credentials Secret: by a controller owner reference with the object's UID. */
  | "owned"
  /** The data claim and volume: by annotations naming the object and its UID (one incarnation's data). */
  | "data"
  /** The backup claim and volume: by an annotation naming `namespace/name` (every incarnation uses them). */
  | "backup";

interface OwnerRef {
  uid?: string;
  controller?: boolean;
}

/** Judges `live` (a read of the child's name, `undefined` when absent) for `mysql`. */
export function ownership(mysql: MySQL, role: ChildRole, live: KubeObject | undefined): Ownership {
  if (!live) return "absent";
  const meta = live.metadata ?? {};
  const refs: OwnerRef[] = meta.ownerReferences ?? [];
  const controller = refs.find((r) => r.controller);
  if (role === "owned") return controller?.uid === mysql.metadata.uid ? "ours" : "foreign";
  // Claims and volumes are never owned: an owner reference names some other controller.
  if (controller) return "foreign";
  const annotations: Record<string, string> = meta.annotations ?? {};
  const instance = `${mysql.metadata.namespace}/${mysql.metadata.name}`;
  const named = annotations[INSTANCE_ANNOTATION];
  if (named !== undefined) {
    if (named !== instance) return "foreign";
    if (role === "backup") return "ours";
    return annotations[OWNER_UID_ANNOTATION] === mysql.metadata.uid ? "ours" : "foreign";
  }
  return hasLegacyLabels(mysql, role, live) ? "legacy" : "foreign";
}

/** Every label an earlier operator version set on this child (PVs also name the object's namespace and name). */
function hasLegacyLabels(mysql: MySQL, role: ChildRole, live: KubeObject): boolean {
  const ref = { namespace: mysql.metadata.namespace, name: mysql.metadata.name };
  const want: Record<string, string> = childLabels(ref, role === "data" ? "data" : "backup");
  if (live.kind === "PersistentVolume") {
    want[NAMESPACE_LABEL] = ref.namespace;
    want[NAME_LABEL] = ref.name;
  }
  const labels: Record<string, string> = live.metadata?.labels ?? {};
  return Object.entries(want).every(([k, v]) => labels[k] === v);
}

/** A child that is in the way: named in the NameConflict condition and event. */
export interface Conflict {
  kind: string;
  name: string;
}

/** The message of a NameConflict: what is in the way, and that nothing was written. */
export function conflictMessage(conflicts: Conflict[]): string {
  const list = conflicts.map((c) => `${c.kind} ${c.name}`).join(", ");
  return `${list} already ${conflicts.length === 1 ? "exists and is" : "exist and are"} not this MySQL's ` +
    `(no owner reference or ownership annotation naming it); the operator writes and deletes nothing in the ` +
    `way: rename the MySQL object or remove the other object, and it continues`;
}
