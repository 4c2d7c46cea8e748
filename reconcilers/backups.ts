/**
 * Backup Jobs of one instance: record each finished Job's outcome exactly once (status, event, backup-PVC
 * annotation), delete Jobs whose outcome is recorded, and start new ones (on request, on schedule, at deletion) one
 * at a time.
 *
 * @module
 */
import { ANNOTATIONS, FIELD_MANAGER, type MySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { backupJobName, childNames } from "../templates/names.ts";
import { type BackupReason, objectRef, renderBackupJob } from "../templates/mod.ts";
import { objectStoreOf } from "../templates/store_env.ts";
import type { ClusterContext } from "./context.ts";
import { jobFailure, jobState, ownedBy, readJobReport } from "./jobs.ts";
import type { StatusBuilder } from "./status.ts";
import { REASONS } from "../api/status.ts";
import { planBackupJobs, recordBackup } from "./backup_decision.ts";
import { APP_LABELS, BACKUP_REASON_LABEL } from "../templates/labels.ts";
import { readChild } from "./observe.ts";
import { ownership } from "./ownership.ts";

/** The instance's backup Jobs (owned by this incarnation). */
export function backupJobs(ctx: ClusterContext, obj: MySQL): KubeObject[] {
  return ctx.cache.jobs(obj.metadata.namespace, obj.metadata.name)
    .filter((j) => j.metadata?.labels?.[APP_LABELS.component] === "backup" && ownedBy(j, obj.metadata.uid));
}

/** Work to do only after the pass's status write succeeded. */
export type AfterStatus = Array<() => Promise<void>>;

/**
 * Records finished Jobs (one outcome per pass) and deletes each Job once its outcome is persisted: the deletion is
 * queued in `after`, which runs only when the status write succeeded. Returns true while a backup Job is running
 * or an outcome is still to be recorded. Decisions: reconcilers/backup_decision.ts.
 */
export async function settleBackupJobs(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  after: AfterStatus,
): Promise<boolean> {
  const jobs = backupJobs(ctx, obj);
  const plan = planBackupJobs(
    jobs.map((j) => ({
      name: j.metadata!.name!,
      state: jobState(j),
      deleting: Boolean(j.metadata?.deletionTimestamp),
    })),
    obj.status?.lastBackupJob,
  );
  const byName = (name: string) => jobs.find((j) => j.metadata?.name === name)!;
  const toRecord = plan.record === undefined ? undefined : byName(plan.record);
  if (toRecord) {
    const r = recordBackup(
      {
        name: plan.record!,
        reason: (toRecord.metadata?.labels?.[BACKUP_REASON_LABEL] ?? "manual") as BackupReason,
        state: jobState(toRecord) as "succeeded" | "failed",
        report: await readJobReport(ctx.client, toRecord),
        failure: jobFailure(toRecord),
      },
      sb.now,
      sb.status,
    );
    Object.assign(sb.status, r.status);
    sb.set(r.condition.type, r.condition.status, r.condition.reason, r.condition.message);
    await ctx.events.emit(obj, r.event.type, r.event.reason, r.event.message);
    // The claim's marker says the volume has a backup: a backup in the object store is not on the volume.
    if (r.mark && !objectStoreOf(obj)) await markBackupPVC(ctx, obj, r.mark.time, r.mark.file);
    if (r.ok) ctx.observe?.backupSucceeded?.(obj, new Date(r.mark!.time));
    else ctx.observe?.backupFailed?.(obj);
  }
  for (const name of plan.deleteAfterStatus) {
    const job = byName(name);
    const path = objectPath(RESOURCES.job, obj.metadata.namespace, name);
    after.push(() => ctx.client.delete(path, "Background", job.metadata?.uid));
  }
  return plan.busy;
}

/**
 * The backup claim and its volume outlive the object: their annotations tell a re-created instance that a backup
 * of it exists, which is what makes it restore (and only then). The volume's copy survives the claim (a deleted
 * namespace, a claim deleted by hand). Only a claim and volume proven this instance's are written, each patch
 * carrying the UID that was read.
 */
async function markBackupPVC(ctx: ClusterContext, obj: MySQL, time: string, file: string): Promise<void> {
  const ns = obj.metadata.namespace;
  const annotations = { [ANNOTATIONS.lastBackupTime]: time, [ANNOTATIONS.lastBackup]: file };
  const pvc = await readChild(ctx, "PersistentVolumeClaim", ns, childNames(objectRef(obj)).backupPVC);
  if (!pvc || ownership(obj, "backup", pvc) === "foreign") return;
  await ctx.client.mergePatch(objectPath(RESOURCES.pvc, ns, pvc.metadata!.name!), {
    metadata: { uid: pvc.metadata?.uid, annotations },
  }, FIELD_MANAGER);
  const volume = pvc.spec?.volumeName;
  const pv = volume ? await readChild(ctx, "PersistentVolume", ns, volume) : undefined;
  if (!pv || ownership(obj, "backup", pv) === "foreign") return;
  await ctx.client.mergePatch(objectPath(RESOURCES.pv, undefined, volume!), {
    metadata: { uid: pv.metadata?.uid, annotations },
  }, FIELD_MANAGER);
}

/** Creates a backup Job (a leftover with the same name is reused, never a conflict). */
export async function startBackup(
  ctx: ClusterContext,
  obj: MySQL,
  reason: BackupReason,
  token: string,
  host: string,
): Promise<string> {
  const jobName = backupJobName(objectRef(obj), reason, token);
  // The cluster names the store's folder of its instances (ignored for the backup volume).
  const job = renderBackupJob(
    obj,
    { jobName, reason, host, store: { cluster: ctx.cluster } },
    ctx.options.render,
  );
  try {
    // Its answer is not read: metadata alone, not the Job back with its script (900 final backups at once).
    await ctx.client.create(collectionPath(RESOURCES.job, obj.metadata.namespace), job, FIELD_MANAGER, {
      metadataOnly: true,
    });
    await ctx.events.emit(obj, "Normal", REASONS.backupStarted, `${reason} backup Job ${jobName} started`);
  } catch (err) {
    if ((err as { status?: number }).status !== 409) throw err;
  }
  return jobName;
}
