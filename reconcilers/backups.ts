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
import type { ClusterContext } from "./context.ts";
import type { BackedUpReport } from "../templates/job_report.ts";
import { jobFailure, jobState, ownedBy, readJobReport } from "./jobs.ts";
import type { StatusBuilder } from "./status.ts";
import { CONDITIONS, REASONS } from "../api/status.ts";
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
 * or an outcome is still to be recorded.
 */
export async function settleBackupJobs(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  after: AfterStatus,
): Promise<boolean> {
  let busy = false;
  for (const job of backupJobs(ctx, obj)) {
    if (job.metadata?.deletionTimestamp) continue;
    const state = jobState(job);
    if (state === "active") {
      busy = true;
      continue;
    }
    const name = job.metadata!.name!;
    const path = objectPath(RESOURCES.job, obj.metadata.namespace, name);
    const deleteJob = () => ctx.client.delete(path, "Background", job.metadata?.uid);
    if (obj.status?.lastBackupJob === name) {
      after.push(deleteJob); // recorded in an earlier pass whose Job deletion did not happen
      continue;
    }
    if (sb.status.lastBackupJob !== obj.status?.lastBackupJob) {
      busy = true; // one outcome per pass; the next pass records this one
      continue;
    }
    await record(ctx, obj, sb, job, state);
    after.push(deleteJob);
  }
  return busy;
}

/**
 * Records one finished backup Job. Success needs the Job's own verified report (readJobReport: right Job UID, file,
 * sha256), and for a final backup also `readOnly: true` (writes were stopped before the dump); a Job that completed
 * without that is recorded as a failure with reason `Unverified` (for a final backup a failed attempt: the data is
 * kept and the finalizer retries with backoff).
 */
async function record(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  job: KubeObject,
  state: "succeeded" | "failed",
): Promise<void> {
  const name = job.metadata!.name!;
  const reason = (job.metadata?.labels?.[BACKUP_REASON_LABEL] ?? "manual") as BackupReason;
  const report = await readJobReport(ctx.client, job);
  const done = report?.result === "BackedUp" ? report : undefined;
  const failed = report?.result === "Failed" ? report : undefined;
  sb.status.lastBackupJob = name;
  if (state === "succeeded" && done && (reason !== "final" || done.readOnly)) {
    const how = reason === "final" ? ", taken read-only" : "";
    sb.status.lastBackupTime = done.time;
    sb.status.lastBackup = done.file;
    if (reason === "final") sb.status.finalBackupTime = done.time;
    sb.set(
      CONDITIONS.backupReady,
      "True",
      REASONS.backupSucceeded,
      `${reason} backup ${done.file} succeeded${how}`,
    );
    await ctx.events.emit(
      obj,
      "Normal",
      REASONS.backupSucceeded,
      `${reason} backup ${done.file} succeeded${how} (Job ${name}, sha256 ${done.sha256})`,
    );
    await markBackupPVC(ctx, obj, done.time, done.file);
    ctx.observe?.backupSucceeded?.(obj, new Date(done.time));
    return;
  }
  const failure = state === "succeeded" && !failed ? unverified(done) : jobFailure(job);
  const why = failed?.reason ?? failure.reason;
  const message = failed?.message || failure.message;
  sb.status.lastBackupFailure = { time: sb.now, reason: why, message };
  if (reason === "final") sb.status.finalBackupAttempts = (sb.status.finalBackupAttempts ?? 0) + 1;
  sb.set(
    CONDITIONS.backupReady,
    "False",
    REASONS.backupFailed,
    `${reason} backup failed: ${why}: ${message}`,
  );
  await ctx.events.emit(
    obj,
    "Warning",
    REASONS.backupFailed,
    `${reason} backup Job ${name} failed: ${why}: ${message}`,
  );
  ctx.observe?.backupFailed?.(obj);
}

/** Why a Job that completed is still not a good backup. */
function unverified(done: BackedUpReport | undefined): { reason: string; message: string } {
  const message = done
    ? `the backup ${done.file} was not taken read-only: writes may have continued after the dump, so it is not the final state`
    : "the Job completed without a verified report (one naming this Job's UID, with the backup file and its sha256)";
  return { reason: REASONS.unverified, message };
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
  const job = renderBackupJob(obj, { jobName, reason, host }, ctx.options.render);
  try {
    await ctx.client.create(collectionPath(RESOURCES.job, obj.metadata.namespace), job, FIELD_MANAGER);
    await ctx.events.emit(obj, "Normal", REASONS.backupStarted, `${reason} backup Job ${jobName} started`);
  } catch (err) {
    if ((err as { status?: number }).status !== 409) throw err;
  }
  return jobName;
}
