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
import { decideFinal, finalBackupRetryInMs, isNamespaceTerminating } from "./final_decision.ts";
import type { StatusBuilder } from "./status.ts";
import { CONDITIONS, PHASES, REASONS } from "../api/status.ts";
import { jobState } from "./jobs.ts";
import { checkCredentials } from "./credentials.ts";

/** How long to wait before looking again at a deletion that waits on something without a watch event. */
const RECHECK_MS = 30_000;

/** An operator-made volume (class `""`, see templates/volumes.ts), as opposed to one a storage class provisioned. */
const operatorMade = (pv: KubeObject) => !pv.spec?.storageClassName; // the API server drops an empty class

const mine = (c: ObservedChild | undefined): c is ObservedChild & { obj: KubeObject } =>
  Boolean(c?.obj) && (c!.owner === "ours" || c!.owner === "legacy");

/** One deletion pass. `done` means the finalizer may come off. */
export async function finalize(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  after: AfterStatus,
): Promise<CleanupResult> {
  sb.status.phase = PHASES.deleting;
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
    hasData: Boolean(sb.status.dataClaimUID) || mine(seen.dataPVC) || mine(seen.dataPV),
    finalBackupDone: Boolean(sb.status.finalBackupTime),
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
    case "wait":
      sb.set(CONDITIONS.ready, "False", REASONS.finalBackupRunning, "deleting: the final backup is running");
      return { done: false, requeueAfterMs: RECHECK_MS };
    case "blocked": {
      const v = validateMySQL(obj);
      const msg = `cannot take the final backup: ${
        v.ok ? "" : v.message
      }; fix the spec or set ${ANNOTATIONS.skipFinalBackup}=true; the data is kept`;
      sb.set(CONDITIONS.ready, "False", REASONS.finalBackupBlocked, msg);
      await ctx.events.emit(obj, "Warning", REASONS.finalBackupBlocked, msg);
      return { done: false };
    }
    case "backup":
      return await finalBackup(ctx, obj, sb);
  }
}

/** Keeps (or puts back) mysqld and takes the final backup, retrying failures with backoff. */
async function finalBackup(ctx: ClusterContext, obj: MySQL, sb: StatusBuilder): Promise<CleanupResult> {
  const problem = await checkCredentials(ctx, obj, sb);
  if (problem) {
    const msg =
      `cannot take the final backup: ${problem}; restore it or set ${ANNOTATIONS.skipFinalBackup}=true`;
    sb.set(CONDITIONS.ready, "False", REASONS.finalBackupBlocked, msg);
    await ctx.events.emit(obj, "Warning", REASONS.finalBackupBlocked, msg);
    return { done: false, requeueAfterMs: ctx.options.secretRecheckMs };
  }
  const applied = await applyChildren(ctx, obj, sb);
  if (applied.conflicts.length) {
    const msg = `cannot take the final backup: ${conflictMessage(applied.conflicts)}; the data is kept`;
    sb.set(CONDITIONS.ready, "False", REASONS.nameConflict, msg);
    await ctx.events.emit(obj, "Warning", REASONS.nameConflict, msg);
    return { done: false, requeueAfterMs: RECHECK_MS };
  }
  if (!applied.available || !applied.host) {
    sb.set(
      CONDITIONS.ready,
      "False",
      REASONS.finalBackupWaiting,
      "deleting: waiting for mysqld to serve the final backup",
    );
    return { done: false, requeueAfterMs: RECHECK_MS };
  }
  const attempts = sb.status.finalBackupAttempts ?? 0;
  if (attempts > 0 && sb.status.lastBackupFailure) {
    const remaining = finalBackupRetryInMs(
      attempts,
      Date.parse(sb.status.lastBackupFailure.time),
      ctx.now().getTime(),
      ctx.options.finalBackupRetry,
    );
    if (remaining > 0) {
      sb.set(
        CONDITIONS.ready,
        "False",
        REASONS.finalBackupFailed,
        `deleting: final backup attempt ${attempts} failed (${sb.status.lastBackupFailure.reason}); retrying in ${
          Math.ceil(remaining / 1000)
        }s; the data is kept`,
      );
      return { done: false, requeueAfterMs: remaining };
    }
  }
  const stale = backupJobs(ctx, obj).filter((j) => jobState(j) === "active");
  if (stale.length === 0) await startBackup(ctx, obj, "final", String(attempts), applied.host);
  sb.set(CONDITIONS.ready, "False", REASONS.finalBackupRunning, "deleting: the final backup is running");
  return { done: false, requeueAfterMs: RECHECK_MS };
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
