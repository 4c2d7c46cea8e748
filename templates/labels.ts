/**
 * Label keys the renderers add beside `childLabels` (templates/names.ts), and the label sets of cluster-scoped
 * children.
 *
 * @module
 */
import { GROUP } from "../api/mysql.ts";
import { childLabels, type ObjectRef } from "./names.ts";

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
