/**
 * Making the children match the spec, after proving every name is free or this object's: observe (cache, then a
 * live read), refuse when anything foreign is in the way (nothing is written then), adopt what an earlier operator
 * version made, and write. Records the facts later decisions about data rest on (the bound data claim's UID, the
 * data volume's name) in status.
 *
 * @module
 */
import { FIELD_MANAGER, type MySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { objectRef } from "../templates/mod.ts";
import {
  OWNER_UID_ANNOTATION,
  ownershipAnnotations,
  pvLabels,
  RETAINED_ANNOTATION,
} from "../templates/labels.ts";
import { ownership } from "./ownership.ts";
import type { ClusterContext } from "./context.ts";
import { childNames } from "../templates/names.ts";
import { backupStorageClass } from "../templates/volumes.ts";
import {
  type Action,
  claimsToWaitFor,
  deploymentFromCache,
  ensureApplied,
  ensureCreated,
  rebindReleasedPV,
} from "./children.ts";
import {
  adoptLegacy,
  conflicts,
  observeChildren,
  type ObservedChild,
  readChild,
  retainedVolume,
} from "./observe.ts";
import type { Conflict } from "./ownership.ts";
import type { StatusBuilder } from "./status.ts";
import { CONDITIONS, REASONS } from "../api/status.ts";
import { renderChildren, type RenderedChildren, storageMismatch } from "./child_plan.ts";
import { deploymentAvailable } from "./progress_due.ts";

/** Facts about the running instance that later steps need, or the conflicts that stopped every write. */
export interface Applied {
  conflicts: Conflict[];
  available: boolean;
  host?: string;
  backupPVC?: KubeObject;
  /** Claims of the mysqld pod the first Deployment waits for (children.ts `claimsToWaitFor`); none: not waiting. */
  waitingFor?: string[];
}

/** The object as the renderers should see it: with the status this pass built (e.g. the data volume's name). */
function withStatus(obj: MySQL, sb: StatusBuilder): MySQL {
  return { ...obj, status: sb.status };
}

/**
 * Takes back data an earlier incarnation of this namespace/name left without a final backup, before this
 * incarnation makes a volume of its own, so the data comes back instead of an empty datadir. The data is either
 * still in its claim (the object was deleted while no operator ran and its finalizer was removed by hand) or on a
 * volume kept when its namespace was deleted. Returns the objects it wrote (newer than the cache).
 */
async function takeBackKeptData(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder): Promise<KubeObject[]> {
  if (sb.status.dataVolumeName || sb.status.dataClaimUID || sb.status.restore) return [];
  const ns = obj.metadata.namespace;
  const names = childNames(objectRef(obj));
  if (backupStorageClass(obj) !== undefined && !sb.status.backupVolumeName) {
    // A provisioned backup volume is found by its annotations; the new claim asks for it by name.
    const backup = retainedVolume(obj, ctx.cache.pvs(), "backup");
    const claim = await readChild(ctx, "PersistentVolumeClaim", ns, names.backupPVC);
    if (backup && !claim) sb.status.backupVolumeName = backup.metadata!.name!;
  }
  const claim = await readChild(ctx, "PersistentVolumeClaim", ns, names.dataPVC);
  const claimUid = claim?.metadata?.annotations?.[OWNER_UID_ANNOTATION];
  let volume: KubeObject | undefined;
  let earlier = false;
  // A claim or volume being deleted (the earlier incarnation's final step) is never taken back.
  if (
    claim?.spec?.volumeName && claimUid && !claim.metadata?.deletionTimestamp &&
    ownership({ ...obj, metadata: { ...obj.metadata, uid: claimUid } }, "data", claim) === "ours"
  ) {
    // The claim names this namespace/name. Another incarnation's (the object was deleted while no operator ran):
    // take it and its volume; this incarnation's own: only a volume taken back in a pass whose status write
    // did not happen (it carries the retained mark and our UID), never the fresh volume of a new instance.
    const v = await readChild(ctx, "PersistentVolume", ns, claim.spec.volumeName);
    const vUid = v?.metadata?.annotations?.[OWNER_UID_ANNOTATION];
    const retained = v?.metadata?.annotations?.[RETAINED_ANNOTATION] !== undefined;
    const sameData = v && !v.metadata?.deletionTimestamp &&
      ownership({ ...obj, metadata: { ...obj.metadata, uid: vUid ?? "" } }, "data", v) === "ours";
    if (
      sameData &&
      (claimUid !== obj.metadata.uid
        ? vUid === claimUid || vUid === obj.metadata.uid
        : retained && vUid === obj.metadata.uid)
    ) {
      volume = v;
      earlier = claimUid !== obj.metadata.uid;
    }
  } else if (!claim) volume = retainedVolume(obj, ctx.cache.pvs(), "data");
  if (!volume) return [];
  const name = volume.metadata!.name!;
  const why = volume.metadata?.annotations?.[RETAINED_ANNOTATION] ??
    `${sb.now}: the data of an earlier incarnation (${claimUid}) was left without a final backup`;
  const adopt = {
    annotations: { ...ownershipAnnotations(objectRef(obj), true), [RETAINED_ANNOTATION]: why },
  };
  const written: KubeObject[] = [];
  const pv = await ctx.client.mergePatch(objectPath(RESOURCES.pv, undefined, name), {
    metadata: { uid: volume.metadata?.uid, resourceVersion: volume.metadata?.resourceVersion, ...adopt },
  }, FIELD_MANAGER);
  written.push({ ...pv, kind: "PersistentVolume" });
  if (earlier) {
    const pvc = await ctx.client.mergePatch(objectPath(RESOURCES.pvc, ns, names.dataPVC), {
      metadata: { uid: claim!.metadata?.uid, resourceVersion: claim!.metadata?.resourceVersion, ...adopt },
    }, FIELD_MANAGER);
    written.push({ ...pvc, kind: "PersistentVolumeClaim" });
  }
  sb.status.dataVolumeName = name;
  sb.status.restore = {
    result: "KeptData",
    time: sb.now,
    message: `the data volume ${name} (${why}) is used again; no restore`,
  };
  sb.set(CONDITIONS.restored, "True", REASONS.keptData, sb.status.restore.message!);
  ctx.log.warn("taking back data volume {pv} kept without a final backup", { pv: name });
  return written;
}

/**
 * Observes, checks ownership and writes the children. One event per pass for what it created and one for what
 * it updated, sent even when a later step fails.
 */
export async function applyChildren(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder): Promise<Applied> {
  const taken = obj.metadata.deletionTimestamp ? [] : await takeBackKeptData(ctx, obj, sb);
  const desired = withStatus(obj, sb);
  const children = renderChildren(desired, ctx.options.render);
  const claim = ctx.cache.child(
    "PersistentVolumeClaim",
    `${obj.metadata.namespace}/${children.dataPVC!.desired.metadata!.name}`,
  );
  const waiting = deploymentFromCache(children.dataPV !== undefined, claim);
  const seen = await observeChildren(ctx, desired, taken, new Set(waiting ? ["Deployment"] as const : []));
  const found = conflicts(seen);
  if (found.length) return { conflicts: found, available: false };
  await adoptLegacy(ctx, desired, seen);

  const done: Record<string, string[]> = { [REASONS.created]: [], [REASONS.updated]: [] };
  const report = (kind: string, name: string, action: Action) => {
    if (action === "none") return;
    done[action === "created" ? REASONS.created : REASONS.updated].push(`${kind} ${name}`);
    ctx.log.info("{action} {kind} {child}", { action, kind, child: name });
  };
  try {
    return await writeChildren(ctx, desired, sb, children, seen, report);
  } finally {
    for (const [reason, list] of Object.entries(done)) {
      if (list.length) {
        await ctx.events.emit(obj, "Normal", reason, `${reason.toLowerCase()} ${list.join(", ")}`);
      }
    }
  }
}

async function writeChildren(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  children: RenderedChildren,
  seen: Awaited<ReturnType<typeof observeChildren>>,
  report: (kind: string, name: string, action: Action) => void,
): Promise<Applied> {
  const apply = async (desired: KubeObject, c: ObservedChild) => {
    const r = await ensureApplied(ctx, desired, c.obj);
    report(c.kind, c.name, r.action);
    return r;
  };
  const writeSecret = async () => {
    if (children.secret) await apply(children.secret.desired, seen.secret);
  };
  // Volumes: created once; a claim deleted by hand comes back bound to the same volume.
  const writeVolume = async (
    pv: KubeObject | undefined,
    pvc: KubeObject,
    seenPV: ObservedChild | undefined,
    seenPVC: ObservedChild,
  ) => {
    let livePV = seenPV?.obj;
    if (pv) {
      const r = await ensureCreated(ctx, pv, livePV);
      livePV = r.obj;
      report("PersistentVolume", pv.metadata!.name!, r.action);
    }
    const r = await ensureCreated(ctx, pvc, seenPVC?.obj);
    report("PersistentVolumeClaim", pvc.metadata!.name!, r.action);
    if (livePV) await rebindReleasedPV(ctx, livePV, r.obj);
    return r.obj;
  };

  const [, dataPVC, backupPVC, svc] = await allSettledOrThrow(
    [
      writeSecret(),
      writeVolume(children.dataPV?.desired, children.dataPVC!.desired, seen.dataPV, seen.dataPVC),
      writeVolume(children.backupPV?.desired, children.backupPVC!.desired, seen.backupPV, seen.backupPVC),
      apply(children.service!.desired, seen.service),
    ] as const,
  );
  if (dataPVC.status?.phase === "Bound") {
    sb.status.dataClaimUID = dataPVC.metadata?.uid;
    sb.status.dataVolumeName = dataPVC.spec?.volumeName;
  }
  await Promise.all([retainVolume(ctx, obj, dataPVC, "data"), retainVolume(ctx, obj, backupPVC, "backup")]);
  checkStorageSize(obj, sb, seen.dataPVC.obj);
  const host = svc.obj.spec?.clusterIP && svc.obj.spec.clusterIP !== "None"
    ? svc.obj.spec.clusterIP
    : undefined;
  if (host) sb.status.serviceIP = host;
  // mysqld's pod mounts the data claim only; the claim's Bound event wakes the pass that creates the Deployment.
  const waitingFor = claimsToWaitFor(seen.deployment.obj !== undefined, [
    { name: dataPVC.metadata!.name!, ownVolume: children.dataPV !== undefined, phase: dataPVC.status?.phase },
  ]);
  if (waitingFor.length) return { conflicts: [], available: false, host, backupPVC, waitingFor };
  const dep = await apply(children.deployment!.desired, seen.deployment);

  const available = dep.action === "none" && deploymentAvailable(dep.obj);
  return { conflicts: [], available, host, backupPVC };
}

/**
 * A bound claim's volume that a storage class provisioned gets reclaim policy Retain, the ownership annotations
 * and the labels the operator watches: deleting the claim (or its namespace) cannot destroy the data or the
 * backups; the operator itself lets the data volume go after the verified final backup. Operator-made hostPath
 * volumes are Retain from the start.
 */
async function retainVolume(ctx: ClusterContext, obj: MySQL, pvc: KubeObject, role: "data" | "backup") {
  const volume = pvc.spec?.volumeName;
  if (pvc.status?.phase !== "Bound" || !volume) return;
  const pvPath = objectPath(RESOURCES.pv, undefined, volume);
  const pv = ctx.cache.pv(volume) ?? await ctx.client.getOrUndefined(pvPath);
  if (!pv || pv.spec?.claimRef?.uid !== pvc.metadata?.uid) return; // not (yet) provably this claim's volume
  const ref = objectRef(obj);
  const annotations = ownershipAnnotations(ref, role === "data");
  const have: Record<string, string> = pv.metadata?.annotations ?? {};
  if (
    pv.spec?.persistentVolumeReclaimPolicy === "Retain" &&
    Object.entries(annotations).every(([k, v]) => have[k] === v)
  ) return;
  await ctx.client.mergePatch(pvPath, {
    metadata: { resourceVersion: pv.metadata?.resourceVersion, labels: pvLabels(ref, role), annotations },
    spec: { persistentVolumeReclaimPolicy: "Retain" },
  }, FIELD_MANAGER);
  ctx.log.info("{role} volume {pv}: reclaim policy Retain, owned by annotation", { role, pv: volume });
}

function checkStorageSize(obj: MySQL, sb: StatusBuilder, existing: KubeObject | undefined) {
  const size = storageMismatch(obj, existing);
  if (size) {
    sb.set(
      CONDITIONS.storageResized,
      "False",
      REASONS.resizeNotSupported,
      `spec.storage_size is ${size.want} but the volume was created with ${size.have}; resizing an existing volume is not supported, the data volume keeps ${size.have}`,
    );
  } else sb.remove(CONDITIONS.storageResized);
}

/**
 * Like Promise.all, but waits for every promise before throwing the first failure: no write is still in flight
 * (and unreported) when the pass goes on to its event and status.
 */
async function allSettledOrThrow<T extends readonly unknown[]>(
  promises: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
