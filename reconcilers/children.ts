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
  if (!live) return { obj: await create(ctx, desired), action: "created" };
  if (isSubset(desired, live)) return { obj: live, action: "none" };
  const body = { ...desired, metadata: { ...desired.metadata, uid: live.metadata?.uid } };
  const obj = await ctx.client.apply(pathOf(desired), body, FIELD_MANAGER);
  return { obj, action: "updated" };
}

/** Creates `desired` when absent; never changes an existing object (volumes are immutable in the parts we set). */
export async function ensureCreated(
  ctx: ClusterContext,
  desired: KubeObject,
  live: KubeObject | undefined,
): Promise<{ obj: KubeObject; action: Action }> {
  if (live) return { obj: live, action: "none" };
  return { obj: await create(ctx, desired), action: "created" };
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
