/**
 * The one restore of an incarnation: only when a backup of this instance exists (the backup PVC says so), only once
 * mysqld is Ready, its outcome read from the Job's own verified report and recorded in status, and never a second
 * time.
 *
 * @module
 */
import { ANNOTATIONS, API_VERSION, FIELD_MANAGER, KIND, type MySQL } from "../api/mysql.ts";
import type { KubeObject } from "../runtime/kube/client.ts";
import { collectionPath, objectPath, RESOURCES } from "../runtime/kube/resources.ts";
import { childNames } from "../templates/names.ts";
import { objectRef, renderRestoreJob } from "../templates/mod.ts";
import type { AfterStatus } from "./backups.ts";
import type { ClusterContext } from "./context.ts";
import { jobFailure, jobState, ownedBy, readJobReport } from "./jobs.ts";
import type { StatusBuilder } from "./status.ts";
import { CONDITIONS, REASONS } from "../api/status.ts";
import type {
  FailedReport,
  JobReport,
  NothingToRestoreReport,
  RestoredReport,
} from "../templates/job_report.ts";

/**
 * Restore attempts that could not connect (a new Service IP not routed yet, mysqld restarting) before the restore
 * is recorded as failed: with the pauses below, about 15 minutes of trying.
 */
export const MAX_RESTORE_ATTEMPTS = 8;

/** Pause after the n-th attempt that could not connect: 10 s, doubling, at most 5 minutes. */
export function restoreRetryDelayMs(attempt: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempt - 1), 300_000);
}

/**
 * What to do about the `attempt`-th restore Job, which could not connect and failed `sinceFailedMs` ago (pure):
 * give up and record the failure, start the next attempt, or keep waiting.
 */
export function afterConnectionFailure(attempt: number, sinceFailedMs: number): "giveUp" | "retry" | "wait" {
  if (attempt >= MAX_RESTORE_ATTEMPTS) return "giveUp";
  return sinceFailedMs >= restoreRetryDelayMs(attempt) ? "retry" : "wait";
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

/** What a finished restore Job amounts to (see {@linkcode restoreOutcome}). */
export type RestoreOutcome =
  | { kind: "restored"; report: RestoredReport }
  | { kind: "nothing"; report: NothingToRestoreReport }
  | { kind: "unverified" }
  | { kind: "failed"; report?: FailedReport };

/** The failure recorded for a restore Job that completed without its own verified report. */
export const UNVERIFIED = {
  reason: REASONS.unverified,
  message:
    "the restore Job completed without a verified report (one naming this Job's UID, with the restored " +
    "backup and its sha256, or NothingToRestore): what it loaded, if anything, is unknown",
} as const;

/**
 * What a finished restore Job amounts to (pure). `report` is the Job's verified report (readJobReport: only one
 * naming this Job's UID). Like a backup, a restore counts only with that report: a Job that merely completed (a
 * simulated pod, a report of another Job, a report of the wrong kind) is `unverified`, never `Restored`, because
 * nothing says which backup, if any, was loaded. A `Failed` report wins over the Job's own state.
 */
export function restoreOutcome(state: "succeeded" | "failed", report: JobReport | undefined): RestoreOutcome {
  if (report?.result === "Failed") return { kind: "failed", report };
  if (state === "failed") return { kind: "failed" };
  if (report?.result === "Restored") return { kind: "restored", report };
  if (report?.result === "NothingToRestore") return { kind: "nothing", report };
  return { kind: "unverified" };
}

/** Where the restore stands after this pass. */
export type RestoreProgress = "done" | "waiting" | "running" | "failed";

/** Drives the restore one step. `available` says whether mysqld is Ready; `host` is the Service ClusterIP. */
export async function reconcileRestore(
  ctx: ClusterContext,
  obj: MySQL,
  sb: StatusBuilder,
  input: { available: boolean; host?: string; backupPVC?: KubeObject },
  after: AfterStatus,
): Promise<RestoreProgress> {
  const ns = obj.metadata.namespace;
  const jobName = childNames(objectRef(obj)).restoreJob;
  const job = ctx.cache.jobs(ns, obj.metadata.name).find((j) => j.metadata?.name === jobName);
  const jobPath = objectPath(RESOURCES.job, ns, jobName);

  if (sb.status.restore) {
    // Recorded: the Job, if still there, has done its work.
    if (job && ownedBy(job, obj.metadata.uid) && jobState(job) !== "active") {
      after.push(() => ctx.client.delete(jobPath, "Background", job.metadata?.uid));
    }
    return sb.status.restore.result === "Failed" ? "failed" : "done";
  }
  // The claim says a backup exists; failing that its volume does (it survives a deleted claim or namespace).
  const volume = input.backupPVC?.spec?.volumeName;
  const lastBackup = input.backupPVC?.metadata?.annotations?.[ANNOTATIONS.lastBackupTime] ??
    (volume ? ctx.cache.pv(volume)?.metadata?.annotations?.[ANNOTATIONS.lastBackupTime] : undefined);
  if (!lastBackup) {
    sb.status.restore = {
      result: "NothingToRestore",
      time: sb.now,
      message: "no backup of this instance exists",
    };
    sb.set(
      CONDITIONS.restored,
      "True",
      REASONS.nothingToRestore,
      "no backup of this instance exists; started empty",
    );
    return "done";
  }
  if (!input.available || !input.host) {
    sb.set(
      CONDITIONS.restored,
      "False",
      REASONS.restorePending,
      `waiting for mysqld to be Ready to restore ${lastBackup}`,
    );
    return "waiting";
  }
  if (job && !ownedBy(job, obj.metadata.uid)) {
    if (!earlierIncarnationOf(job, obj)) {
      const msg = `Job ${jobName} exists and is not this MySQL's; the restore waits until it is gone`;
      sb.set(CONDITIONS.restored, "False", REASONS.nameConflict, msg);
      await ctx.events.emit(obj, "Warning", REASONS.nameConflict, msg);
      return "waiting";
    }
    // A leftover of an earlier incarnation with the same name: remove it, never let it wedge us.
    await ctx.client.delete(jobPath, "Background", job.metadata?.uid);
    sb.set(CONDITIONS.restored, "False", REASONS.restorePending, `removing leftover Job ${jobName}`);
    return "waiting";
  }
  if (!job) {
    try {
      await ctx.client.create(
        collectionPath(RESOURCES.job, ns),
        renderRestoreJob(obj, { host: input.host }, ctx.options.render),
        FIELD_MANAGER,
      );
    } catch (err) {
      if ((err as { status?: number }).status !== 409) throw err;
    }
    await ctx.events.emit(
      obj,
      "Normal",
      REASONS.restoreStarted,
      `restoring the newest backup (Job ${jobName})`,
    );
    sb.set(CONDITIONS.restored, "False", REASONS.restoring, `restore Job ${jobName} is running`);
    return "running";
  }
  const state = jobState(job);
  if (state === "active") {
    sb.set(CONDITIONS.restored, "False", REASONS.restoring, `restore Job ${jobName} is running`);
    return "running";
  }
  const outcome = restoreOutcome(state, await readJobReport(ctx.client, job));
  if (outcome.kind === "restored" || outcome.kind === "nothing") {
    const restored = outcome.kind === "restored";
    const { message } = outcome.report;
    sb.status.restore = {
      result: restored ? "Restored" : "NothingToRestore",
      time: sb.now,
      ...(restored ? { backup: outcome.report.backup } : {}),
      ...(message ? { message } : {}),
    };
    const what =
      (restored ? `restored ${outcome.report.backup}` : "the restore found no backup of this instance") +
      (message ? ` (${message})` : "");
    sb.set(CONDITIONS.restored, "True", sb.status.restore.result, what);
    await ctx.events.emit(obj, "Normal", sb.status.restore.result, what);
    after.push(() => ctx.client.delete(jobPath, "Background", job.metadata?.uid));
    return "done";
  }
  const failed = outcome.kind === "failed" ? outcome.report : undefined;
  if (failed?.reason === "ConnectionFailed" && job.metadata?.uid === sb.status.restoreRetriedJob) {
    return "waiting"; // counted and deleted already: the cache has not seen the deletion yet
  }
  const attempt = (sb.status.restoreAttempts ?? 0) + 1;
  const since = Date.parse(jobFailedAt(job) ?? "") || 0;
  const next = failed?.reason === "ConnectionFailed"
    ? afterConnectionFailure(attempt, Date.parse(sb.now) - since)
    : "giveUp";
  if (next !== "giveUp") {
    // Nothing was loaded: try again after a pause that grows with each attempt, then give up. The pause is
    // measured from the failed Job; the count is in status, so a restart of the operator neither resets nor
    // repeats it.
    if (next === "retry") {
      await ctx.client.delete(jobPath, "Background", job.metadata?.uid);
      sb.status.restoreAttempts = attempt;
      sb.status.restoreRetriedJob = job.metadata?.uid;
    }
    sb.set(
      CONDITIONS.restored,
      "False",
      REASONS.restorePending,
      `could not connect to mysqld (${failed?.message}); attempt ${attempt} of ${MAX_RESTORE_ATTEMPTS}, retrying`,
    );
    return "waiting";
  }
  // Unverified is recorded like any other failure: never retried by itself, and the data is left as it is.
  const failure = outcome.kind === "unverified" ? UNVERIFIED : jobFailure(job);
  const gaveUp = failed?.reason === "ConnectionFailed" ? ` (gave up after ${attempt} attempts)` : "";
  const message = `${failed?.reason ?? failure.reason}: ${failed?.message || failure.message}${gaveUp}`;
  sb.status.restore = { result: "Failed", time: sb.now, message };
  sb.set(CONDITIONS.restored, "False", REASONS.restoreFailed, message);
  await ctx.events.emit(obj, "Warning", REASONS.restoreFailed, `restore Job ${jobName} failed: ${message}`);
  after.push(() => ctx.client.delete(jobPath, "Background", job.metadata?.uid));
  return "failed";
}
