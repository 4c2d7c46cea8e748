/**
 * Writing children: server-side apply only when the live object drifted from the desired one, create-once for
 * volumes, and re-binding a Released operator-made PV to a re-created claim (a PVC deleted by hand comes back on
 * the same data).
 *
 * @module
 */
import { FIELD_MANAGER } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { isStatus } from "../runtime/kube/client.ts";
import { collectionPath, objectPath, type Resource, RESOURCES } from "../runtime/kube/resources.ts";
import type { ClusterContext } from "./context.ts";
import { isSubset } from "./drift.ts";

/** Resource of a rendered child by kind. */
export function resourceOf(kind: string): Resource {
  const r = Object.values(RESOURCES).find((r) => r.kind === kind);
  if (!r) throw new Error(`unknown kind ${kind}`);
  return r;
}

function pathOf(obj: KubeObject): string {
  return objectPath(resourceOf(obj.kind!), obj.metadata?.namespace, obj.metadata!.name!);
}

/** What an ensure step did (for events and logs). */
export type Action = "none" | "created" | "updated";

/** What a child needs in this pass. */
export type ChildWrite = "create" | "apply" | "none";

/**
 * What to write for a child whose name is free or proven this object's (reconcilers/ownership.ts decides that
 * first): create it when absent; apply it when it is `mutable` and differs from `desired` in a field the operator
 * sets (fields the server or others added are not drift); otherwise nothing. Volumes are not mutable: created once,
 * never changed (their size and source are fixed; the StorageResized condition says when the spec differs).
 */
export function childWrite(desired: KubeObject, live: KubeObject | undefined, mutable: boolean): ChildWrite {
  if (!live) return "create";
  return mutable && !isSubset(desired, live) ? "apply" : "none";
}

/**
 * Creates `desired` with a POST when `live` is absent (never an apply: an apply would merge into an object someone
 * made since the read; a POST fails with 409 and the next pass looks again), or applies it when `live` (already
 * proven this object's) differs in a field we set. The apply carries the live UID, so it cannot land on a
 * same-named object that replaced ours in between. Returns the object afterwards and what was done.
 */
export async function ensureApplied(
  ctx: ClusterContext,
  desired: KubeObject,
  live: KubeObject | undefined,
): Promise<{ obj: KubeObject; action: Action }> {
  return await write(ctx, desired, live, childWrite(desired, live, true));
}

/** Creates `desired` when absent; never changes an existing object (volumes are immutable in the parts we set). */
export async function ensureCreated(
  ctx: ClusterContext,
  desired: KubeObject,
  live: KubeObject | undefined,
): Promise<{ obj: KubeObject; action: Action }> {
  return await write(ctx, desired, live, childWrite(desired, live, false));
}

async function write(
  ctx: ClusterContext,
  desired: KubeObject,
  live: KubeObject | undefined,
  what: ChildWrite,
): Promise<{ obj: KubeObject; action: Action }> {
  if (what === "create") return { obj: await create(ctx, desired), action: "created" };
  if (what === "none") return { obj: live!, action: "none" };
  const body = { ...desired, metadata: { ...desired.metadata, uid: live!.metadata?.uid } };
  return { obj: await ctx.client.apply(pathOf(desired), body, FIELD_MANAGER), action: "updated" };
}

async function create(ctx: ClusterContext, desired: KubeObject): Promise<KubeObject> {
  const r = resourceOf(desired.kind!);
  try {
    return await ctx.client.create(collectionPath(r, desired.metadata?.namespace), desired, FIELD_MANAGER);
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    throw new Error(
      `${desired.kind} ${desired.metadata?.name} appeared while the operator was creating it; looking again before any write`,
    );
  }
}

/**
 * A hostPath PV whose claim was deleted is Released and keeps the old claim's UID, so a re-created claim of the same
 * name would never bind. Clear the stale UID (only for a claim we name) so it binds again, data intact.
 */
export async function rebindReleasedPV(ctx: ClusterContext, pv: KubeObject, pvc: KubeObject | undefined) {
  if (pv.status?.phase !== "Released" || !pvc) return false;
  const ref = pv.spec?.claimRef;
  if (!ref || ref.name !== pvc.metadata?.name || ref.namespace !== pvc.metadata?.namespace) return false;
  if (ref.uid === pvc.metadata?.uid) return false;
  await ctx.client.jsonPatch(objectPath(RESOURCES.pv, undefined, pv.metadata!.name!), [
    { op: "test", path: "/spec/claimRef/uid", value: ref.uid },
    { op: "remove", path: "/spec/claimRef/uid" },
    { op: "remove", path: "/spec/claimRef/resourceVersion" },
  ], FIELD_MANAGER).catch(async (err) => {
    // resourceVersion may be absent; retry without it.
    if (!isStatus(err, 422)) throw err;
    await ctx.client.jsonPatch(objectPath(RESOURCES.pv, undefined, pv.metadata!.name!), [
      { op: "test", path: "/spec/claimRef/uid", value: ref.uid },
      { op: "remove", path: "/spec/claimRef/uid" },
    ], FIELD_MANAGER);
  });
  return true;
}

/** A claim of the mysqld pod as the Deployment decision sees it. */
export interface PodClaim {
  name: string;
  /** The operator made its volume (pre-bound, storage class `""`): the volume controller binds it by itself. */
  ownVolume: boolean;
  /** `status.phase` of the live claim. */
  phase?: string;
}

/**
 * The claims the mysqld Deployment waits for before it is first created: claims on a volume the operator made that
 * are not Bound yet. A pod made before its claims bind cannot be scheduled; the scheduler retries it and records
 * each failure, and on a busy control plane that work delays the binding itself (3 clusters x 100 objects: the
 * schedulers took 8.5 CPU seconds over the creation, 2.7 with this wait). A claim of a storage class may wait for
 * its first consumer (WaitForFirstConsumer), so it is never waited for; nor is anything once the Deployment exists
 * (nothing that runs is held back). Pure.
 */
export function claimsToWaitFor(deploymentExists: boolean, claims: readonly PodClaim[]): string[] {
  if (deploymentExists) return [];
  return claims.filter((c) => c.ownVolume && c.phase !== "Bound").map((c) => c.name);
}

/**
 * Whether a pass takes the Deployment from the cache alone (no live read of its name when the cache misses): only
 * while the first Deployment waits for a data claim the cache already holds, so never in the first pass, whose live
 * reads prove every name free before anything is written. A waiting pass does not write the Deployment, and the pass
 * that does reads its name live first; without this, every waiting pass cost a GET answered 404. Pure.
 */
export function deploymentFromCache(
  ownDataVolume: boolean,
  cachedDataClaim: KubeObject | undefined,
): boolean {
  return ownDataVolume && cachedDataClaim !== undefined && cachedDataClaim.status?.phase !== "Bound";
}
