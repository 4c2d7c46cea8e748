/**
 * Reading the children of a MySQL object before anything is written: the cache first, and a live read for any
 * name the cache does not hold (the child informers select by a label anyone can change, so a miss does not mean
 * the name is free). Each read is judged by reconcilers/ownership.ts.
 *
 * @module
 */
import { FIELD_MANAGER, type MySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { byCodeUnits } from "../runtime/order.ts";
import { childNames } from "../templates/names.ts";
import { objectRef } from "../templates/mod.ts";
import {
  APP_LABELS,
  INSTANCE_ANNOTATION,
  OWNER_UID_ANNOTATION,
  ownershipAnnotations,
  RETAINED_ANNOTATION,
} from "../templates/labels.ts";
import { backupStorageClass, dataVolumeName } from "../templates/volumes.ts";
import type { ClusterContext } from "./context.ts";
import { type ChildRole, type Conflict, type Ownership, ownership } from "./ownership.ts";

/** One child as observed: its live state (undefined when absent) and whose it is. */
export interface ObservedChild {
  kind: string;
  name: string;
  role: ChildRole;
  obj?: KubeObject;
  owner: Ownership;
}

/** Every child name of an object, observed. */
export interface ObservedChildren {
  deployment: ObservedChild;
  service: ObservedChild;
  secret: ObservedChild;
  dataPVC: ObservedChild;
  backupPVC: ObservedChild;
  /** The data and backup PVs (operator-made ones, or a provisioned one status names). */
  dataPV?: ObservedChild;
  backupPV?: ObservedChild;
}

export type CachedKind = "Deployment" | "Service" | "PersistentVolumeClaim" | "Secret";

/** The object named `name` of `kind`: from the cache, else read live. */
export async function readChild(
  ctx: ClusterContext,
  kind: CachedKind | "PersistentVolume",
  ns: string,
  name: string,
): Promise<KubeObject | undefined> {
  const cached = kind === "PersistentVolume" ? ctx.cache.pv(name) : ctx.cache.child(kind, `${ns}/${name}`);
  if (cached) return cached;
  const resource = {
    Deployment: RESOURCES.deployment,
    Service: RESOURCES.service,
    PersistentVolumeClaim: RESOURCES.pvc,
    Secret: RESOURCES.secret,
    PersistentVolume: RESOURCES.pv,
  }[kind];
  return await ctx.client.getOrUndefined(objectPath(resource, ns, name));
}

/**
 * Reads and judges every child name of `obj` (in parallel; most come from the cache). `fresh` holds objects this
 * pass just wrote, newer than the cache; the kinds in `cacheOnly` are taken from the cache alone (a miss is read as
 * absent, so the caller must not write them on that account).
 */
export async function observeChildren(
  ctx: ClusterContext,
  obj: MySQL,
  fresh: KubeObject[] = [],
  cacheOnly: ReadonlySet<CachedKind> = new Set(),
): Promise<ObservedChildren> {
  const ns = obj.metadata.namespace;
  const names = childNames(objectRef(obj));
  const one = async (kind: CachedKind | "PersistentVolume", name: string, role: ChildRole) => {
    const live = fresh.find((o) => o.kind === kind && o.metadata?.name === name) ??
      (kind !== "PersistentVolume" && cacheOnly.has(kind)
        ? ctx.cache.child(kind, `${ns}/${name}`)
        : await readChild(ctx, kind, ns, name));
    return { kind, name, role, obj: live, owner: ownership(obj, role, live) };
  };
  const dataPV = dataVolumeName(obj);
  const backupPVName = backupStorageClass(obj) === undefined ? names.backupPV : obj.status?.backupVolumeName;
  const [deployment, service, secret, dataPVC, backupPVC, dataPVObs, backupPV] = await Promise.all([
    one("Deployment", names.deployment, "owned"),
    one("Service", names.service, "owned"),
    obj.spec?.password !== undefined ? one("Secret", names.secret, "owned") : undefined,
    one("PersistentVolumeClaim", names.dataPVC, "data"),
    one("PersistentVolumeClaim", names.backupPVC, "backup"),
    dataPV ? one("PersistentVolume", dataPV, "data") : undefined,
    backupPVName ? one("PersistentVolume", backupPVName, "backup") : undefined,
  ]);
  // A volume a storage class provisioned for our claim carries no annotations until the pass that saw it bound
  // adds them: its claimRef naming our claim's UID proves it ours.
  for (const [pv, pvc] of [[dataPVObs, dataPVC], [backupPV, backupPVC]] as const) {
    if (
      pv?.owner === "foreign" && pvc.owner !== "foreign" && pvc.obj?.metadata?.uid !== undefined &&
      pv.obj?.spec?.claimRef?.uid === pvc.obj.metadata.uid && !(pv.obj.metadata?.ownerReferences ?? []).length
    ) pv.owner = "legacy";
  }
  return {
    deployment,
    service,
    secret: secret ?? { kind: "Secret", name: names.secret, role: "owned", owner: "absent" },
    dataPVC,
    backupPVC,
    dataPV: dataPVObs,
    backupPV,
  };
}

/** The children in the way: present and not this object's (legacy ones are adopted, not in the way). */
export function conflicts(seen: ObservedChildren): Conflict[] {
  return Object.values(seen)
    .filter((c): c is ObservedChild => c?.owner === "foreign")
    .map((c) => ({ kind: c.kind, name: c.name }));
}

/**
 * Adds the ownership annotations to children an earlier operator version made (they carry every label it set).
 * A merge patch adds two annotations and changes nothing else.
 */
export async function adoptLegacy(ctx: ClusterContext, obj: MySQL, seen: ObservedChildren): Promise<void> {
  const ref = objectRef(obj);
  for (const c of Object.values(seen) as Array<ObservedChild | undefined>) {
    if (c?.owner !== "legacy" || !c.obj) continue;
    const resource = c.kind === "PersistentVolume" ? RESOURCES.pv : RESOURCES.pvc;
    await ctx.client.mergePatch(objectPath(resource, obj.metadata.namespace, c.name), {
      metadata: {
        resourceVersion: c.obj.metadata?.resourceVersion,
        annotations: ownershipAnnotations(ref, c.role === "data"),
      },
    }, FIELD_MANAGER);
    c.owner = "ours";
    ctx.log.info("adopted {kind} {child} made by an earlier operator version", {
      kind: c.kind,
      child: c.name,
    });
  }
}

/**
 * A volume an earlier incarnation of this namespace/name left behind, not bound to any claim: for `data`, one kept
 * without a final backup (its namespace was deleted; the newest, if several); for `backup`, the backup volume a
 * storage class provisioned (an operator-made one, class `""`, has a fixed name and re-binds by itself). Re-creating the object
 * takes it back instead of starting on an empty volume.
 */
export function retainedVolume(
  obj: MySQL,
  pvs: KubeObject[],
  role: "data" | "backup",
): KubeObject | undefined {
  const instance = `${obj.metadata.namespace}/${obj.metadata.name}`;
  return pvs
    .filter((pv) => {
      const a: Record<string, string> = pv.metadata?.annotations ?? {};
      const kept = role === "data"
        ? a[RETAINED_ANNOTATION] !== undefined && a[OWNER_UID_ANNOTATION] !== undefined
        : pv.metadata?.labels?.[APP_LABELS.component] === "backup" &&
          Boolean(pv.spec?.storageClassName); // provisioned; the API server drops an empty class
      return kept && a[INSTANCE_ANNOTATION] === instance && !(pv.metadata?.ownerReferences ?? []).length &&
        // Bound: in use, unless by this object (taken back in a pass whose status write did not happen).
        (pv.status?.phase !== "Bound" || a[OWNER_UID_ANNOTATION] === obj.metadata.uid) &&
        !pv.metadata?.deletionTimestamp;
    })
    .sort((a, b) => byCodeUnits(String(b.metadata?.creationTimestamp), String(a.metadata?.creationTimestamp)))
    .at(0);
}
