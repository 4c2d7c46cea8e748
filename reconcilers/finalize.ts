/**
 * The deletion of a MySQL object: gather the facts (live reads and status, never a label-filtered cache's
 * silence), let reconcilers/final_decision.ts decide, and act. Data goes only after a verified final backup; a
 * namespace deleted under the object leaves the volumes, marked as kept.
 *
 * @module
 */
import { ANNOTATIONS, FIELD_MANAGER, type MySQL, validateMySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { RETAINED_ANNOTATION } from "../templates/labels.ts";
import type { ClusterContext } from "./context.ts";
import { type AfterStatus, backupJobs, settleBackupJobs, startBackup } from "./backups.ts";
import type { CleanupResult } from "./finalizer.ts";
import { applyChildren } from "./apply_children.ts";
import { conflictMessage } from "./ownership.ts";
import { observeChildren, type ObservedChild } from "./observe.ts";
import {
  decideFinal,
  decideFinalBackup,
  FINAL_RECHECK_MS,
  FOREGROUND_FINALIZER,
  hasData,
  isNamespaceTerminating,
} from "./final_decision.ts";
import { settle, type StatusBuilder } from "./status.ts";
import { REASONS } from "../api/status.ts";
import type { DeletionReason } from "./readiness.ts";
import { jobState } from "./jobs.ts";
import { checkCredentials, checkStoreCredentials } from "./credentials.ts";

/** An operator-made volume (class `""`, see templates/volumes.ts), as opposed to one a storage class provisioned. */
const operatorMade = (pv: KubeObject) => !pv.spec?.storageClassName; // the API server drops an empty class

const mine = (c: ObservedChild | undefined): c is ObservedChild & { obj: KubeObject } =>
  Boolean(c?.obj) && (c!.owner === "ours" || c!.owner === "legacy");

/** Looking again this soon after recording a verified final backup (the status write's event usually comes first). */
const RECORD_RECHECK_MS = 1_000;

/** One deletion pass. `done` means the finalizer may come off. */
export async function finalize(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  after: AfterStatus,
): Promise<CleanupResult> {
  // The namespace's deletion, seen by the namespace informer; failing that, the API server's refusal to create.
  try {
    return await finalizeOnce(ctx, obj, sb, after, ctx.cache.namespaceTerminating(obj.metadata.namespace));
  } catch (err) {
    if (!isNamespaceTerminating(err)) throw err;
    return await finalizeOnce(ctx, obj, sb, after, true);
  }
}

async function finalizeOnce(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  after: AfterStatus,
  namespaceTerminating: boolean,
): Promise<CleanupResult> {
  const seen = await observeChildren(ctx, { ...obj, status: sb.status });
  const busy = await settleBackupJobs(ctx, obj, sb, after);
  const decision = decideFinal({
    skipRequested: obj.metadata.annotations?.[ANNOTATIONS.skipFinalBackup] === "true",
    hasData: hasData(
      sb.status.dataClaimUID,
      seen.dataPVC.obj && seen.dataPVC.owner,
      seen.dataPV?.obj && seen.dataPV.owner,
    ),
    finalBackupDone: Boolean(sb.status.finalBackupTime),
    finalBackupRecorded: Boolean(obj.status?.finalBackupTime),
    backupBusy: busy,
    specInvalid: !validateMySQL(obj).ok,
    namespaceTerminating,
  });
  switch (decision.action) {
    case "deleteData":
      if (decision.why === "skipRequested") {
        await ctx.events.emit(
          obj,
          "Warning",
          REASONS.finalBackupSkipped,
          `${ANNOTATIONS.skipFinalBackup} is set: no final backup`,
        );
      }
      return await deleteData(ctx, obj, seen);
    case "keepVolumes":
      return await keepVolumes(ctx, obj, seen);
    case "record":
      // This pass's status write stores the backup; its watch event (or this requeue) brings the pass that deletes.
      await deleting(
        ctx,
        obj,
        sb,
        REASONS.finalBackupRunning,
        "deleting: the final backup is verified; recording it",
      );
      return { done: false, requeueAfterMs: RECORD_RECHECK_MS };
    case "wait":
      await deleting(ctx, obj, sb, REASONS.finalBackupRunning, "deleting: the final backup is running");
      return { done: false, requeueAfterMs: FINAL_RECHECK_MS };
    case "blocked": {
      const v = validateMySQL(obj);
      const msg = `cannot take the final backup: ${
        v.ok ? "" : v.message
      }; fix the spec or set ${ANNOTATIONS.skipFinalBackup}=true; the data is kept`;
      await deleting(ctx, obj, sb, REASONS.finalBackupBlocked, msg);
      return { done: false };
    }
    case "backup":
      return await finalBackup(ctx, obj, sb);
  }
}

/** Says where the deletion stands (Ready and phase as reconcilers/readiness.ts makes them, with its event). */
function deleting(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  reason: DeletionReason,
  message: string,
) {
  return settle(ctx, obj, sb, { stage: "deleting", reason, message });
}

/**
 * Keeps (or puts back) mysqld and takes the final backup, retrying failures with backoff (decideFinalBackup); in a
 * foreground deletion only once the garbage collector has deleted the owned children.
 */
async function finalBackup(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder): Promise<CleanupResult> {
  const collecting = obj.metadata.finalizers?.includes(FOREGROUND_FINALIZER) ?? false;
  // Without the password or the store's keys no backup Job can start: blocked, the data kept.
  const passwordProblem = collecting
    ? undefined
    : await checkCredentials(ctx, obj, sb) ?? await checkStoreCredentials(ctx, obj);
  const applied = !collecting && passwordProblem === undefined
    ? await applyChildren(ctx, obj, sb)
    : undefined;
  const step = decideFinalBackup({
    collecting,
    passwordProblem,
    conflict: applied?.conflicts.length ? conflictMessage(applied.conflicts) : undefined,
    serving: Boolean(applied?.available && applied.host),
    attempts: sb.status.finalBackupAttempts ?? 0,
    lastFailure: sb.status.lastBackupFailure,
    jobRunning: backupJobs(ctx, obj).some((j) => jobState(j) === "active"),
    nowMs: ctx.now().getTime(),
    policy: ctx.options.finalBackupRetry,
  });
  if (step.start) {
    await startBackup(ctx, obj, "final", String(sb.status.finalBackupAttempts ?? 0), applied!.host!);
  }
  await deleting(ctx, obj, sb, step.reason, step.message);
  return {
    done: false,
    requeueAfterMs: step.recheck === "secret" ? ctx.options.secretRecheckMs : step.recheck,
  };
}

/**
 * The final step: mysqld and its data go; only children provably this object's, each deleted with a UID
 * precondition (a same-named object made meanwhile by someone else is never deleted). The data claim and volume
 * are not owned (no garbage collection may take them first), so they are deleted here. The backup claim stays.
 */
async function deleteData(
  ctx: ClusterContext,
  obj: MySQL,
  seen: Awaited<ReturnType<typeof observeChildren>>,
): Promise<CleanupResult> {
  const ns = obj.metadata.namespace;
  const del = async (c: ObservedChild | undefined, resource: (typeof RESOURCES)[keyof typeof RESOURCES]) => {
    if (!mine(c)) return;
    await ctx.client.delete(objectPath(resource, ns, c.name), "Background", c.obj.metadata!.uid);
  };
  await del(seen.deployment, RESOURCES.deployment);
  await del(seen.service, RESOURCES.service);
  await del(seen.secret, RESOURCES.secret);
  // The volume goes only with a claim that is ours (or gone): a claim another controller adopted keeps using it.
  const pv = seen.dataPVC.owner === "foreign" ? undefined : seen.dataPV;
  if (pv !== seen.dataPV) {
    ctx.log.warn("data claim {claim} belongs to someone else now: it and its volume are left alone", {
      claim: seen.dataPVC.name,
    });
  }
  // A provisioned volume was set to Retain while it held unbacked-up data; now the storage may go with its claim.
  if (mine(pv) && pv.obj.spec?.persistentVolumeReclaimPolicy === "Retain" && !operatorMade(pv.obj)) {
    await ctx.client.mergePatch(objectPath(RESOURCES.pv, undefined, pv.name), {
      metadata: { resourceVersion: pv.obj.metadata?.resourceVersion },
      spec: { persistentVolumeReclaimPolicy: "Delete" },
    }, FIELD_MANAGER);
  }
  await del(seen.dataPVC, RESOURCES.pvc);
  if (pv?.obj && operatorMade(pv.obj)) await del(pv, RESOURCES.pv);
  ctx.log.info("final step done; removing the finalizer");
  return { done: true };
}

/**
 * The namespace is being deleted before a final backup could run: every claim goes with it, but the volumes are
 * Retain (made so, or set so when they bound). Mark the data volume as kept, say so (log and metric: events
 * cannot be created in a terminating namespace), and let the object go. Re-creating the namespace and the object
 * takes the volume back (reconcilers/apply_children.ts).
 */
async function keepVolumes(
  ctx: ClusterContext,
  obj: MySQL,
  seen: Awaited<ReturnType<typeof observeChildren>>,
): Promise<CleanupResult> {
  const pv = seen.dataPV;
  const why =
    `${ctx.now().toISOString()}: namespace ${obj.metadata.namespace} was deleted before a final backup`;
  if (mine(pv)) {
    await ctx.client.mergePatch(objectPath(RESOURCES.pv, undefined, pv.name), {
      metadata: { annotations: { [RETAINED_ANNOTATION]: why } },
      spec: { persistentVolumeReclaimPolicy: "Retain" },
    }, FIELD_MANAGER);
  }
  ctx.observe?.volumeRetained?.(obj);
  ctx.log.warn(
    "namespace {namespace} is being deleted: no final backup possible; data kept on volume {pv} (Retain); " +
      "re-create the namespace and the MySQL object to get it back, or delete the volume by hand",
    { namespace: obj.metadata.namespace, pv: pv?.name ?? "(none found)" },
  );
  return { done: true };
}
