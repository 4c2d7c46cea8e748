/**
 * When a MySQL object's own state says a pass is due that has not happened (runtime/progress_check.ts): the operator
 * writes `status.phase` Provisioning while it waits for mysqld, so an object still saying so while its Deployment is
 * Available, or whose spec changed after the last pass, is one the operator owes a pass. Pure.
 *
 * @module
 */
import { PHASES } from "../api/status.ts";
import type { KubeObject } from "../runtime/kube/client.ts";

/** True when a Deployment is Available the way a pass judges it: its current spec observed and a pod serving. */
export function deploymentAvailable(d: KubeObject | undefined): boolean {
  return (d?.status?.observedGeneration ?? 0) >= (d?.metadata?.generation ?? 1) &&
    (d?.status?.updatedReplicas ?? 0) >= 1 && (d?.status?.availableReplicas ?? 0) >= 1;
}

/** True when `obj` (with its mysqld Deployment from the cache) is owed a pass. */
export function passDue(obj: KubeObject, deployment: KubeObject | undefined): boolean {
  if (obj.metadata?.deletionTimestamp) return false; // the deletion's own waits (final backup Job) are not this
  const observed = obj.status?.observedGeneration;
  if (observed !== undefined && observed < (obj.metadata?.generation ?? 0)) return true; // a change no pass has seen
  const phase = obj.status?.phase;
  return (phase === undefined || phase === PHASES.provisioning) && deploymentAvailable(deployment);
}
