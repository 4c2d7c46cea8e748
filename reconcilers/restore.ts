/**
 * The one restore of an incarnation: observe (the restore Job, its verified report, the backup marker), decide
 * (reconcilers/restore_decision.ts, pure), act (start or delete the Job, record the outcome, say so).
 *
 * @module
 */
import { ANNOTATIONS, API_VERSION, FIELD_MANAGER, KIND, type MySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { childNames } from "../templates/names.ts";
import { objectRef, renderRestoreJob } from "../templates/mod.ts";
import { objectStoreOf, storePath } from "../templates/store_env.ts";
import type { AfterStatus } from "./backups.ts";
import type { ClusterContext } from "./context.ts";
import { jobFailure, jobState, ownedBy, readJobReport } from "./jobs.ts";
import type { StatusBuilder } from "./status.ts";
import { CONDITIONS } from "../api/status.ts";
import {
  decideRestore,
  type RestoreFacts,
  type RestoreJobFacts,
  restoreOutcome,
  type RestoreProgress,
} from "./restore_decision.ts";

export {
  afterConnectionFailure,
  MAX_RESTORE_ATTEMPTS,
  type RestoreOutcome,
  restoreOutcome,
  type RestoreProgress,
  restoreRetryDelayMs,
  UNVERIFIED,
} from "./restore_decision.ts";

/**
 * What the pass knows for the restore: mysqld Ready, the Service's IP, the backup claim (its marker), and why a
 * restore Job could not start now (the object store's Secret), if it could not.
 */
export interface RestoreInput {
  available: boolean;
  host?: string;
  backupPVC?: KubeObject;
  blocked?: string;
}

/** When the Job's Failed condition was set. */
function jobFailedAt(job: KubeObject): string | undefined {
  return (job.status?.conditions ?? []).find((c: { type: string }) => c.type === "Failed")
    ?.lastTransitionTime;
}

/** True when the Job's controller is a MySQL object of this namespace and name (an earlier incarnation). */
function earlierIncarnationOf(job: KubeObject, obj: MySQL): boolean {
  const ref = (job.metadata?.ownerReferences ?? []).find((r: { controller?: boolean }) => r.controller);
  return ref?.apiVersion === API_VERSION && ref?.kind === KIND && ref?.name === obj.metadata.name;
}

/**
 * What the restore decision needs, read from status, the caches and (for this incarnation's finished Job whose
 * outcome is still to be recorded) the Job's pods.
 */
async function observeRestore(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  input: RestoreInput,
  job: KubeObject | undefined,
): Promise<RestoreFacts> {
  // The claim says a backup exists; failing that its volume does (it survives a deleted claim or namespace). The
  // operator does not read an object store (its keys are the Jobs' alone): the restore Job looks, and says
  // NothingToRestore only when the store answered with no backup of the instance.
  const store = objectStoreOf(obj);
  const volume = input.backupPVC?.spec?.volumeName;
  const lastBackup = store
    ? `the newest backup in ${storePath(store, ctx.cluster, obj)}`
    : input.backupPVC?.metadata?.annotations?.[ANNOTATIONS.lastBackupTime] ??
      (volume ? ctx.cache.pv(volume)?.metadata?.annotations?.[ANNOTATIONS.lastBackupTime] : undefined);
  const serving = input.available && Boolean(input.host);
  let jobFacts: RestoreJobFacts | undefined;
  if (job) {
    const state = jobState(job);
    const mine = ownedBy(job, obj.metadata.uid);
    jobFacts = {
      uid: job.metadata?.uid,
      mine,
      earlierIncarnation: earlierIncarnationOf(job, obj),
      state,
      failedAtMs: Date.parse(jobFailedAt(job) ?? "") || 0,
      failure: jobFailure(job),
    };
    // Read only when the decision will need it: a finished Job of ours whose outcome is still to be recorded.
    if (mine && state !== "active" && !sb.status.restore && lastBackup && serving) {
      jobFacts.outcome = restoreOutcome(state, await readJobReport(ctx.client, job));
    }
  }
  return {
    jobName: childNames(objectRef(obj)).restoreJob,
    recorded: sb.status.restore,
    lastBackup,
    serving,
    blocked: input.blocked,
    job: jobFacts,
    restoreAttempts: sb.status.restoreAttempts ?? 0,
    restoreRetriedJob: sb.status.restoreRetriedJob,
    now: sb.now,
  };
}

/**
 * Drives the restore one step. `available` says whether mysqld is Ready; `host` is the Service ClusterIP. Acts
 * in this order: the Job (create, or delete now), the status facts and the `Restored` condition, the event; a
 * Job whose outcome is recorded is deleted only after the status write succeeded (`after`).
 */
export async function reconcileRestore(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  input: RestoreInput,
  after: AfterStatus,
): Promise<RestoreProgress> {
  const ns = obj.metadata.namespace;
  const jobName = childNames(objectRef(obj)).restoreJob;
  const job = ctx.cache.jobs(ns, obj.metadata.name).find((j) => j.metadata?.name === jobName);
  const plan = decideRestore(await observeRestore(ctx, obj, sb, input, job));
  const jobPath = objectPath(RESOURCES.job, ns, jobName);
  const deleteJob = () => ctx.client.delete(jobPath, "Background", job?.metadata?.uid);
  if (plan.job === "create") {
    try {
      await ctx.client.create(
        collectionPath(RESOURCES.job, ns),
        renderRestoreJob(obj, { host: input.host!, store: { cluster: ctx.cluster } }, ctx.options.render),
        FIELD_MANAGER,
        { metadataOnly: true }, // the answer is not read: not the Job back with its script
      );
    } catch (err) {
      if ((err as { status?: number }).status !== 409) throw err;
    }
  } else if (plan.job === "deleteNow") await deleteJob();
  else if (plan.job === "deleteAfterStatus") after.push(deleteJob);
  if (plan.status) Object.assign(sb.status, plan.status);
  if (plan.condition) {
    sb.set(CONDITIONS.restored, plan.condition.status, plan.condition.reason, plan.condition.message);
  }
  if (plan.event) await ctx.events.emit(obj, plan.event.type, plan.event.reason, plan.event.message);
  return plan.progress;
}
